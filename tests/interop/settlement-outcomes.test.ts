// A broken facilitator between our verifier and the official one: each settlement really
// happens on chain, and its answer is garbled (an error page, half a body, a 429, a reason
// nobody knows, the official "transaction failed" after broadcasting, a dropped
// connection, header injection). Whatever the garbling, the buyer is never asked to pay
// twice: the first answer is 503 (or 200 with safe headers when it said "settled"), the
// retry of the same payment is served exactly once, and the chain shows one transfer.
// Once with --rpc (the verifier reads the chain), once without (it settles again).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, erc20Abi, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createPaymentHeader } from "x402/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, startChain } from "../chain/chain.ts";
import { freePort } from "../support/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../support/process.ts";
import { type Fault, startFaultyFacilitator } from "./faulty-facilitator.ts";
import { startForwardAuthProxy } from "./forward-auth-proxy.ts";
import { startUpstream } from "./upstream.ts";

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
  writeFileSync(join(dir, "facilitator.key"), chain.accounts[1]!.privateKey);
  const official = start("node", "tests/interop/facilitator-server.ts", [chain.rpcUrl, join(dir, "facilitator.key")]);
  stops.push(() => official.stop());
  const officialUrl = await waitFor("official facilitator", async () => /listening (\S+)/.exec(official.output())?.[1], 30_000, official);
  faulty = await startFaultyFacilitator(officialUrl);
  stops.push(faulty.close);
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

const balanceOf = (address: `0x${string}`) =>
  createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }).readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });

for (const [name, withRpc, buyerIndex] of [["resolved on chain (--rpc)", true, 5], ["resolved by settling again (no --rpc)", false, 6]] as const) {
  describe(`garbled settlement answers, ${name}`, () => {
    let verifier: Running;
    let proxy: Awaited<ReturnType<typeof startForwardAuthProxy>>;
    let upstream: Awaited<ReturnType<typeof startUpstream>>;
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
      const port = await freePort();
      verifier = start("node", "main.ts", [
        "verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${port}`, "--facilitator", faulty.url, "--answer-timeout", "8",
        ...(withRpc ? ["--rpc", `base-sepolia=${chain.rpcUrl}`] : []),
      ]);
      stops.push(() => verifier.stop());
      await waitFor("verifier ready", () => httpReady(`http://127.0.0.1:${port}/readyz`), 30_000, verifier);
      upstream = await startUpstream();
      stops.push(upstream.close);
      proxy = await startForwardAuthProxy({ verifyUrl: `http://127.0.0.1:${port}/verify`, upstreamUrl: upstream.url, prefix: "/services/llm", authResponseHeaders: ["X-Payment-Response", "X-Payment-Payer"] });
      stops.push(proxy.close);
    }, 60_000);

    const pay = async () => {
      const unpaid = await (await fetch(`${proxy.url}/services/llm/v1/chat`)).json();
      const header = await createPaymentHeader(buyer(), 1, unpaid.accepts[0]);
      return () => fetch(`${proxy.url}/services/llm/v1/chat`, { headers: { "X-PAYMENT": header } });
    };

    it.each(FAULTS)("%s: 503 (never 402), then the retry is served once, charged once", async (fault) => {
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

      expect((await send()).status).toBe(200);
      expect(upstream.seen.length).toBe(seen + 1);
      expect((await send()).status).toBe(402);
      expect(await balanceOf(buyer().address)).toBe(before - PRICE);
      expect(verifier.child.exitCode).toBeNull();
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
