// The in-process facilitator on a real chain (Hardhat, our EIP-3009 token), mining a block
// every second as a real chain does, so transactions wait in the mempool: payments settled
// at once from one settlement account each land, once.
import { createNonceManager, createPublicClient, erc20Abi, http, nonceManager, type PublicClient, toHex } from "viem";
import { jsonRpc } from "viem/nonce";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, startChain } from "../../dev/chain/chain.ts";
import { chainClients } from "./chain-clients.ts";
import { deadlineAfter } from "../../adapters/deadline.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "./eip3009.ts";
import { localFacilitator, refusedForItsNonce } from "./facilitator-local.ts";
import type { PaymentAttempt } from "./payment-header.ts";
import { pricedRoute } from "../test-support.ts";

describe("localFacilitator", () => {
  let chain: Chain;
  let reader: PublicClient;
  const rpc = (method: string, params: unknown[]) => fetch(chain.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });

  beforeAll(async () => {
    chain = await startChain();
    reader = createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }) as PublicClient;
    await rpc("evm_setAutomine", [false]);
    await rpc("evm_setIntervalMining", [1000]);
  }, 120_000);
  afterAll(async () => await chain?.stop(), 30_000);

  async function payment(buyerIndex: number): Promise<PaymentAttempt> {
    const buyer = privateKeyToAccount(chain.accounts[buyerIndex]!.privateKey);
    const now = (await reader.getBlock()).timestamp;
    const authorization = { from: buyer.address, to: chain.accounts[9]!.address, value: 1000n, validAfter: 0n, validBefore: now + 300n, nonce: toHex(crypto.getRandomValues(new Uint8Array(32))) };
    const signature = await buyer.signTypedData({
      domain: { name: "USDC", version: "2", chainId: chain.chainId, verifyingContract: chain.token },
      types: TRANSFER_WITH_AUTHORIZATION_TYPES, primaryType: "TransferWithAuthorization", message: authorization,
    });
    return { version: 1, scheme: "exact", network: "base-sepolia", method: "eip3009", authorization, signature };
  }

  it("settles five payments at once from one settlement account: each lands, once", { timeout: 60_000 }, async () => {
    const account = privateKeyToAccount(chain.accounts[0]!.privateKey, { nonceManager });
    const facilitator = localFacilitator(chainClients({ rpcUrls: { "base-sepolia": chain.rpcUrl }, settlementAccount: account }));
    const route = pricedRoute({ payTo: chain.accounts[9]!.address });
    const seller = () => reader.readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [chain.accounts[9]!.address] });
    const before = await seller();
    const payments = await Promise.all([2, 3, 4, 5, 6].map(payment));
    const outcomes = await Promise.all(payments.map((p) => facilitator.settle({ payment: p, route, accept: route.accepts[0]!, resource: "https://shop.example/x", deadline: deadlineAfter(20_000), signedByPayer: true })));
    expect(outcomes.map((o) => o.kind)).toEqual(Array(5).fill("settled"));
    expect(new Set(outcomes.map((o) => (o as { transaction: string }).transaction)).size).toBe(5);
    expect(await seller()).toBe(before + 5000n);
  });

  it("settles payments at once from one account shared by three replicas (a nonce manager each): each lands, once", { timeout: 60_000 }, async () => {
    const replicas = [0, 1, 2].map(() => {
      const account = privateKeyToAccount(chain.accounts[0]!.privateKey, { nonceManager: createNonceManager({ source: jsonRpc() }) });
      return localFacilitator(chainClients({ rpcUrls: { "base-sepolia": chain.rpcUrl }, settlementAccount: account }));
    });
    const route = pricedRoute({ payTo: chain.accounts[9]!.address });
    const seller = () => reader.readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [chain.accounts[9]!.address] });
    const before = await seller();
    const payments = await Promise.all([2, 3, 4, 5, 6, 7].map(payment));
    const outcomes = await Promise.all(payments.map((p, i) => replicas[i % 3]!.settle({ payment: p, route, accept: route.accepts[0]!, resource: "https://shop.example/x", deadline: deadlineAfter(20_000), signedByPayer: true })));
    expect(outcomes.map((o) => o.kind)).toEqual(Array(6).fill("settled"));
    expect(await seller()).toBe(before + 6000n);
  });

  it("sends again only when the node refused the transaction for its nonce, never when it already has it", () => {
    const nodeSaid = (details: string) => Object.assign(new Error("Execution reverted", { cause: { message: "RPC error", details } }), {});
    expect(refusedForItsNonce(nodeSaid("Nonce provided for the transaction is lower than the current nonce of the account."))).toBe(true);
    expect(refusedForItsNonce(nodeSaid("nonce too low: next nonce 7, tx nonce 6"))).toBe(true);
    expect(refusedForItsNonce(nodeSaid("replacement transaction underpriced"))).toBe(true);
    expect(refusedForItsNonce(nodeSaid("already known"))).toBe(false);
    expect(refusedForItsNonce(nodeSaid("nonce too low (transaction already imported)"))).toBe(false);
    expect(refusedForItsNonce(new Error("fetch failed"))).toBe(false);
  });
});
