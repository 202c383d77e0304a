// Offers priced in tokens other than USDC, paid end to end through the verifier by the
// official clients on a real chain: 0.001 OBOL (18 decimals, no EIP-3009) through Permit2
// and the x402 exact Permit2 proxy, and 0.25 EURC (an EIP-3009 token with its own EIP-712
// domain). With the in-process facilitator (verifier on Node) and the official remote one
// (verifier on Deno). Balances are the proof: each payment moves exactly its price in its
// token, and nothing moves in any other.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment as wrapV2, x402Client } from "@x402/fetch";
import { createPublicClient, createWalletClient, erc20Abi, http, maxUint256, publicActions } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment as wrapV1 } from "x402-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, OBOL_ADDRESS, PERMIT2_ADDRESS, startChain } from "../../dev/chain/chain.ts";
import { type PaidService, startOfficialFacilitator, startPaidService } from "./paid-service.ts";

const NETWORK = "eip155:84532";
const MILLI_OBOL = 10n ** 15n;
const QUARTER_EURC = 250_000n;
let chain: Chain;

beforeAll(async () => {
  chain = await startChain();
}, 120_000);
afterAll(async () => await chain?.stop());

const balanceOf = (token: `0x${string}`, address: `0x${string}`) =>
  createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }).readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [address] });

function v2Buyer(index: number) {
  const account = privateKeyToAccount(chain.accounts[index]!.privateKey);
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: account });
  // The official client pays only tokens it knows unless told: the local chain's are not among them.
  client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: OBOL_ADDRESS }, { network: NETWORK, asset: chain.eurc.address }] });
  const approvePermit2 = async () => {
    const wallet = createWalletClient({ account, chain: chain.viemChain, transport: http(chain.rpcUrl) }).extend(publicActions);
    const hash = await wallet.writeContract({ address: OBOL_ADDRESS, abi: erc20Abi, functionName: "approve", args: [PERMIT2_ADDRESS, maxUint256] });
    expect((await wallet.waitForTransactionReceipt({ hash })).status).toBe("success");
  };
  return { account, pay: wrapV2(fetch, client), approvePermit2 };
}

type Mode = { facilitator: "local" | "remote"; runtime: "node" | "deno"; payTo: number; obolBuyer: number; unapproved: number; eurcBuyer: number };

function assetFlow(mode: Mode) {
  describe(`assets: ${mode.facilitator} facilitator, verifier on ${mode.runtime}`, () => {
    let service: PaidService;
    let payTo: `0x${string}`;
    const stops: (() => Promise<unknown>)[] = [];
    const url = (path: string) => `${service.proxy.url}/services/llm/${path}`;

    beforeAll(async () => {
      payTo = chain.accounts[mode.payTo]!.address;
      const dir = mkdtempSync(join(tmpdir(), "x402-assets-"));
      stops.push(async () => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, "settlement.key"), chain.accounts[0]!.privateKey);
      const route = (name: string, pattern: string, price: string, asset: string) => `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: ${name}, namespace: shop, annotations: {obol.org/offer: shop/${name}}}
spec: {pattern: "${pattern}", price: "${price}", payTo: "${payTo}", network: base-sepolia, asset: ${asset}}
`;
      writeFileSync(join(dir, "routes.yaml"), [
        route("obol", "/services/llm/obol/*", "0.001", `{address: "${OBOL_ADDRESS}", symbol: OBOL, decimals: 18, transferMethod: permit2}`),
        route("eurc", "/services/llm/eurc/*", "0.25", `{address: "${chain.eurc.address}", symbol: EURC, decimals: 6, transferMethod: eip3009, eip712Name: ${chain.eurc.name}, eip712Version: "${chain.eurc.version}"}`),
      ].join("---\n"));
      let facilitator = "local";
      if (mode.facilitator === "remote") {
        const official = await startOfficialFacilitator(chain, dir);
        stops.push(official.stop);
        facilitator = official.url;
      }
      service = await startPaidService(join(dir, "routes.yaml"), [
        "--facilitator", facilitator, "--rpc", `base-sepolia=${chain.rpcUrl}`, "--settlement-key-file", join(dir, "settlement.key"),
      ], mode.runtime);
      stops.push(service.stop);
    }, 120_000);
    afterAll(async () => {
      for (const stop of stops.reverse()) await stop();
    });

    it("asks for 0.001 OBOL as 10^15 atomic units through Permit2, in x402 v2 only", async () => {
      const response = await fetch(url("obol/v1/chat"));
      expect(response.status).toBe(402);
      expect((await response.json()).accepts).toEqual([]);
      const required = JSON.parse(Buffer.from(response.headers.get("payment-required")!, "base64").toString());
      expect(required.accepts).toEqual([{ scheme: "exact", network: NETWORK, amount: MILLI_OBOL.toString(), asset: OBOL_ADDRESS, payTo, maxTimeoutSeconds: 300, extra: { assetTransferMethod: "permit2" } }]);
    });

    it("is paid 0.001 OBOL by @x402/fetch through Permit2: the buyer's OBOL moves to the seller, and no USDC moves", async () => {
      const buyer = v2Buyer(mode.obolBuyer);
      await buyer.approvePermit2();
      const before = await Promise.all([balanceOf(OBOL_ADDRESS, buyer.account.address), balanceOf(OBOL_ADDRESS, payTo), balanceOf(chain.token, buyer.account.address)]);
      const response = await buyer.pay(url("obol/v1/chat"));
      expect(response.status).toBe(200);
      const seen = service.upstream.seen.at(-1)!;
      expect(seen.url).toBe("/obol/v1/chat");
      expect(JSON.parse(Buffer.from(seen.headers["x-payment-response"] as string, "base64").toString())).toMatchObject({ success: true, network: NETWORK });
      expect(await balanceOf(OBOL_ADDRESS, buyer.account.address)).toBe(before[0] - MILLI_OBOL);
      expect(await balanceOf(OBOL_ADDRESS, payTo)).toBe(before[1] + MILLI_OBOL);
      expect(await balanceOf(chain.token, buyer.account.address)).toBe(before[2]);
    });

    it("refuses the same Permit2 payment replayed, and moves nothing", async () => {
      const used = service.proxy.paymentHeaders.findLast((h) => "permit2Authorization" in JSON.parse(Buffer.from(h, "base64").toString()).payload)!;
      const sellerBefore = await balanceOf(OBOL_ADDRESS, payTo);
      const response = await fetch(url("obol/v1/chat"), { headers: { "PAYMENT-SIGNATURE": used } });
      expect(response.status).toBe(402);
      expect(await balanceOf(OBOL_ADDRESS, payTo)).toBe(sellerBefore);
    });

    it("refuses a buyer who has not approved Permit2 with 402 and a reason, taking nothing", async () => {
      const buyer = v2Buyer(mode.unapproved);
      const before = await balanceOf(OBOL_ADDRESS, buyer.account.address);
      const response = await buyer.pay(url("obol/v1/chat"));
      expect(response.status).toBe(402);
      const required = JSON.parse(Buffer.from(response.headers.get("payment-required")!, "base64").toString());
      expect(required.error).toMatch(/permit2_allowance_required|permit2_simulation_failed/);
      expect(await balanceOf(OBOL_ADDRESS, buyer.account.address)).toBe(before);
    });

    it("is paid 0.25 EURC by EIP-3009 over EURC's own EIP-712 domain, by @x402/fetch and by x402-fetch 1.x", async () => {
      const sellerBefore = await balanceOf(chain.eurc.address, payTo);
      const v2 = v2Buyer(mode.eurcBuyer);
      expect((await v2.pay(url("eurc/v2"))).status).toBe(200);
      const v1Account = privateKeyToAccount(chain.accounts[mode.eurcBuyer + 1]!.privateKey);
      const v1Before = await balanceOf(chain.eurc.address, v1Account.address);
      expect((await wrapV1(fetch, v1Account, 1_000_000n)(url("eurc/v1"))).status).toBe(200);
      expect(await balanceOf(chain.eurc.address, v1Account.address)).toBe(v1Before - QUARTER_EURC);
      expect(await balanceOf(chain.eurc.address, payTo)).toBe(sellerBefore + 2n * QUARTER_EURC);
    });
  });
}

assetFlow({ facilitator: "local", runtime: "node", payTo: 9, obolBuyer: 2, unapproved: 3, eurcBuyer: 4 });
assetFlow({ facilitator: "remote", runtime: "deno", payTo: 8, obolBuyer: 6, unapproved: 7, eurcBuyer: 4 });
