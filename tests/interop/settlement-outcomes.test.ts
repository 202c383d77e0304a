// A broken facilitator between our verifier and the official one: each settlement really
// happens on chain, and its answer is garbled (an error page, half a body, a 429, a reason
// nobody knows, the official "transaction failed" after broadcasting, a dropped
// connection, header injection). Whatever the garbling, the buyer is never asked to pay
// twice: the first answer is 503 (or 200 with safe headers when it said "settled"), and the
// chain shows one transfer. With --rpc the verifier reads the chain and serves the retry of
// the same payment once; without, it can only ask the facilitator, which cannot tell whose
// transfer used a nonce: the retry stays 503 (never 402, never free), unless the payment
// never went out, which settling again finds out. A buyer who cancels a payment that never
// went out is refused (--rpc) or kept waiting (no --rpc), never served.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, createWalletClient, erc20Abi, http, parseSignature } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createPaymentHeader } from "x402/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, startChain } from "../../dev/chain/chain.ts";
import type { Running } from "../../dev/process.ts";
import { type Fault, startFaultyFacilitator } from "./faulty-facilitator.ts";
import { type PaidService, startOfficialFacilitator, startPaidService } from "./paid-service.ts";

const PRICE = 1000n;
const FAULTS: Fault[] = ["html", "truncated", "rate-limited", "unknown-reason", "pending", "dropped", "huge-reason"];
let chain: Chain;
let faulty: Awaited<ReturnType<typeof startFaultyFacilitator>>;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  chain = await startChain();
  stops.push(() => chain.stop());
  const dir = mkdtempSync(join(tmpdir(), "x402-outcomes-"));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  const official = await startOfficialFacilitator(chain, dir);
  stops.push(official.stop);
  faulty = await startFaultyFacilitator(official.url);
  stops.push(faulty.close);
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

/** The buyer cancels an authorization on chain (EIP-3009 cancelAuthorization), paying the gas himself. */
async function cancelAuthorization(buyerIndex: number, nonce: `0x${string}`) {
  const buyer = privateKeyToAccount(chain.accounts[buyerIndex]!.privateKey);
  const signature = await buyer.signTypedData({
    domain: { name: "USDC", version: "2", chainId: chain.chainId, verifyingContract: chain.token }, primaryType: "CancelAuthorization",
    types: { CancelAuthorization: [{ name: "authorizer", type: "address" }, { name: "nonce", type: "bytes32" }] }, message: { authorizer: buyer.address, nonce },
  });
  const { v, r, s } = parseSignature(signature);
  const wallet = createWalletClient({ chain: chain.viemChain, transport: http(chain.rpcUrl), account: buyer });
  const hash = await wallet.writeContract({ address: chain.token, abi: chain.abi, functionName: "cancelAuthorization", args: [buyer.address, nonce, Number(v), r, s] });
  await createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }).waitForTransactionReceipt({ hash });
}

const balanceOf = (address: `0x${string}`) =>
  createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }).readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });

for (const [name, withRpc, buyerIndex] of [["resolved on chain (--rpc)", true, 5], ["resolved by asking the facilitator (no --rpc)", false, 6]] as const) {
  describe(`garbled settlement answers, ${name}`, () => {
    let verifier: Running;
    let proxy: PaidService["proxy"];
    let upstream: PaidService["upstream"];
    const payTo = () => chain.accounts[9]!.address;
    const buyer = () => privateKeyToAccount(chain.accounts[buyerIndex]!.privateKey);

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), "x402-outcomes-"));
      stops.push(async () => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop}
spec: {pattern: "/services/llm/*", price: "0.001", payTo: "${payTo()}", network: base-sepolia}
`);
      const service = await startPaidService(join(dir, "routes.yaml"), ["--facilitator", faulty.url, "--answer-timeout", "8", ...(withRpc ? ["--rpc", `base-sepolia=${chain.rpcUrl}`] : [])]);
      stops.push(service.stop);
      ({ verifier, proxy, upstream } = service);
    }, 60_000);

    const pay = async () => {
      const unpaid = await (await fetch(`${proxy.url}/services/llm/v1/chat`)).json();
      const header = await createPaymentHeader(buyer(), 1, unpaid.accepts[0]);
      return () => fetch(`${proxy.url}/services/llm/v1/chat`, { headers: { "X-PAYMENT": header } });
    };

    it.each(FAULTS)(withRpc ? "%s: 503 (never 402), then the retry is served once, charged once" : "%s: 503 (never 402), and the retry too, charged once", async (fault) => {
      const send = await pay();
      const [before, seen] = [await balanceOf(buyer().address), upstream.seen.length];
      faulty.state.mode = fault;
      const first = await send();
      faulty.state.mode = "pass";
      expect(first.status).toBe(503);
      expect(first.headers.get("retry-after")).toBe("15");
      expect((await first.json()).error).toContain("do not pay again");
      expect(await balanceOf(buyer().address)).toBe(before - PRICE); // it did land
      expect(upstream.seen.length).toBe(seen);

      const retry = await send();
      if (withRpc) {
        expect(retry.status).toBe(200);
        expect(upstream.seen.length).toBe(seen + 1);
        expect((await send()).status).toBe(402);
      } else {
        expect([retry.status, (await retry.json()).error]).toEqual([503, expect.stringContaining("do not pay again")]);
        expect(upstream.seen.length).toBe(seen);
      }
      expect(await balanceOf(buyer().address)).toBe(before - PRICE);
      expect(verifier.child.exitCode).toBeNull();
    });

    it("a settlement that never went out: 503, then the retry settles it and is served once", async () => {
      const send = await pay();
      const before = await balanceOf(buyer().address);
      faulty.state.mode = "unsent";
      expect((await send()).status).toBe(503);
      faulty.state.mode = "pass";
      expect(await balanceOf(buyer().address)).toBe(before);
      expect((await send()).status).toBe(200);
      expect((await send()).status).toBe(402);
      expect(await balanceOf(buyer().address)).toBe(before - PRICE);
    });

    it(`a buyer who cancels a payment that never went out is ${withRpc ? "refused" : "kept waiting"}, never served`, async () => {
      const unpaid = await (await fetch(`${proxy.url}/services/llm/v1/chat`)).json();
      const header = await createPaymentHeader(buyer(), 1, unpaid.accepts[0]);
      const send = () => fetch(`${proxy.url}/services/llm/v1/chat`, { headers: { "X-PAYMENT": header } });
      faulty.state.mode = "unsent";
      expect((await send()).status).toBe(503);
      faulty.state.mode = "pass";
      await cancelAuthorization(buyerIndex, JSON.parse(Buffer.from(header, "base64").toString()).payload.authorization.nonce);
      const seen = upstream.seen.length;
      const retry = await send();
      expect(retry.status).toBe(withRpc ? 402 : 503);
      expect(upstream.seen.length).toBe(seen);
    });

    it("a settled answer carrying header injection: served, with only values the verifier made or checked", async () => {
      const send = await pay();
      const before = await balanceOf(buyer().address);
      faulty.state.mode = "injection";
      const response = await send();
      faulty.state.mode = "pass";
      expect(response.status).toBe(200);
      const seen = upstream.seen.at(-1)!;
      expect(String(seen.headers["x-payment-payer"]).toLowerCase()).toBe(buyer().address.toLowerCase());
      expect(seen.headers["x-injected"]).toBeUndefined();
      expect(JSON.parse(Buffer.from(String(seen.headers["x-payment-response"]), "base64").toString())).toMatchObject({ success: true, transaction: "", payer: buyer().address });
      expect(await balanceOf(buyer().address)).toBe(before - PRICE);
      expect(verifier.child.exitCode).toBeNull();
      expect(verifier.output()).not.toContain("unhandled rejection");
    });
  });
}
