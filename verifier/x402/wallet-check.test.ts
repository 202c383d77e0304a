// Whether a payer is a contract, asked of a real chain (Hardhat: the token and Multicall3
// hold code, the dev accounts do not), and how often the chain is asked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, MULTICALL3_ADDRESS, startChain } from "../../dev/chain/chain.ts";
import { chainClients, type ChainClients } from "./chain-clients.ts";
import { pricedRoute } from "../test-support.ts";
import { contractCheck } from "./wallet-check.ts";

describe("contractCheck", () => {
  let chain: Chain;
  let clients: ChainClients;
  let reads = 0;
  const network = () => pricedRoute().accepts[0]!.network;

  beforeAll(async () => {
    chain = await startChain();
    const real = chainClients({ rpcUrls: { "base-sepolia": chain.rpcUrl } });
    // Counts the chain's getCode reads, nothing else changed.
    clients = {
      for(n) {
        const c = real.for(n);
        if (!c) return c;
        const getCode: typeof c.public.getCode = (args) => (reads++, c.public.getCode(args));
        return { ...c, public: { ...c.public, getCode } as typeof c.public };
      },
    };
  }, 120_000);
  afterAll(async () => await chain?.stop(), 30_000);

  it("tells contracts from plain accounts", async () => {
    const isContract = contractCheck(clients);
    expect(await isContract(network(), MULTICALL3_ADDRESS)).toBe(true);
    expect(await isContract(network(), chain.accounts[2]!.address)).toBe(false);
  });

  it("asks the chain once for a thousand forged payments from one address, and again only after a minute", async () => {
    let time = 0;
    const isContract = contractCheck(clients, () => time);
    const before = reads;
    const answers = await Promise.all(Array.from({ length: 1000 }, () => isContract(network(), chain.accounts[3]!.address)));
    expect(answers.every((a) => a === false)).toBe(true);
    expect(reads - before).toBe(1);
    time = 61_000;
    await isContract(network(), chain.accounts[3]!.address);
    expect(reads - before).toBe(2);
  });

  it("says no for a network it has no RPC for, without asking anything", async () => {
    const isContract = contractCheck(clients);
    const before = reads;
    expect(await isContract({ ...network(), name: "base" }, MULTICALL3_ADDRESS)).toBe(false);
    expect(reads).toBe(before);
  });
});
