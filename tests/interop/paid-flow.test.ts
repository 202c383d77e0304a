// The official x402 clients pay a priced route through the verifier, end to end on a
// real chain: x402-fetch 1.x (protocol v1) and @x402/fetch 2.x (protocol v2), with the
// in-process facilitator (verifier on Node) and the official remote facilitator
// (verifier on Deno). The chain's balances are the proof.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment as wrapV2, x402Client } from "@x402/fetch";
import { createPublicClient, erc20Abi, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createPaymentHeader } from "x402/client";
import { PaymentRequirementsSchema } from "x402/types";
import { wrapFetchWithPayment as wrapV1 } from "x402-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, startChain } from "../../dev/chain/chain.ts";
import { freePort } from "../../dev/free-port.ts";
import { httpReady, type Running, type Runtime, start, waitFor } from "../../dev/process.ts";
import { startForwardAuthProxy } from "./forward-auth-proxy.ts";
import { startUpstream } from "./upstream.ts";

const PRICE = 1000n; // 0.001 USDC
let chain: Chain;

beforeAll(async () => {
  chain = await startChain();
}, 120_000);
afterAll(async () => {
  await chain?.stop();
});

const balanceOf = (address: `0x${string}`) =>
  createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }).readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });

type Mode = { name: string; runtime: Runtime; facilitator: "local" | "remote"; payTo: number; v1Buyer: number; v2Buyer: number };

function paidFlow(mode: Mode) {
  describe(`paid flow: ${mode.facilitator} facilitator, verifier on ${mode.runtime}`, () => {
    const stops: (() => Promise<unknown>)[] = [];
    let proxyUrl = "";
    let proxy: Awaited<ReturnType<typeof startForwardAuthProxy>>;
    let upstream: Awaited<ReturnType<typeof startUpstream>>;
    let verifier: Running;
    let payTo: `0x${string}`;

    beforeAll(async () => {
      payTo = chain.accounts[mode.payTo]!.address;
      const dir = mkdtempSync(join(tmpdir(), "x402-interop-"));
      stops.push(async () => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, "settlement.key"), chain.accounts[0]!.privateKey);
      writeFileSync(join(dir, "facilitator.key"), chain.accounts[1]!.privateKey);
      mkdirSync(join(dir, "secrets", "llm-upstream"), { recursive: true });
      writeFileSync(join(dir, "secrets", "llm-upstream", "token"), "sk-upstream-123\n");
      writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop, annotations: {obol.org/offer: shop/llm}}
spec:
  pattern: /services/llm/*
  price: "0.001"
  amount: "${PRICE}"
  payTo: "${payTo}"
  network: base-sepolia
  priceModel: perRequest
  description: Llama inference
  upstreamAuth: {secretKeyRef: {name: llm-upstream, key: token}, scheme: Bearer}
`);
      let facilitatorFlag = "local";
      if (mode.facilitator === "remote") {
        const official = start("node", "tests/interop/facilitator-server.ts", [chain.rpcUrl, join(dir, "facilitator.key")]);
        stops.push(() => official.stop());
        facilitatorFlag = await waitFor("official facilitator", async () => /listening (\S+)/.exec(official.output())?.[1], 30_000, official);
      }
      const port = await freePort();
      verifier = start(mode.runtime, "main.ts", [
        "verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${port}`, "--facilitator", facilitatorFlag,
        "--rpc", `base-sepolia=${chain.rpcUrl}`, "--settlement-key-file", join(dir, "settlement.key"), "--secrets-dir", join(dir, "secrets"),
      ]);
      stops.push(() => verifier.stop());
      await waitFor("verifier ready", () => httpReady(`http://127.0.0.1:${port}/readyz`), 30_000, verifier);
      upstream = await startUpstream();
      stops.push(upstream.close);
      proxy = await startForwardAuthProxy({
        verifyUrl: `http://127.0.0.1:${port}/verify`, upstreamUrl: upstream.url, prefix: "/services/llm",
        authResponseHeaders: ["X-Payment-Response", "X-Payment-Payer", "Authorization"],
      });
      stops.push(proxy.close);
      proxyUrl = proxy.url;
    }, 120_000);

    afterAll(async () => {
      for (const stop of stops.reverse()) await stop();
    });

    it("asks an unpaid request for payment in both protocol versions", async () => {
      const response = await fetch(`${proxyUrl}/services/llm/v1/models`);
      expect(response.status).toBe(402);
      const body = await response.json();
      expect(body.x402Version).toBe(1);
      expect(body.accepts).toHaveLength(1);
      // The official v1 schema accepts our requirement as it is.
      expect(PaymentRequirementsSchema.parse(body.accepts[0])).toMatchObject({ maxAmountRequired: "1000", network: "base-sepolia", payTo, resource: `${proxyUrl}/services/llm/v1/models` });
      const v2 = JSON.parse(Buffer.from(response.headers.get("payment-required")!, "base64").toString());
      expect(v2).toMatchObject({ x402Version: 2, accepts: [{ network: "eip155:84532", amount: "1000", payTo, asset: chain.token, extra: { name: "USDC", version: "2" } }] });
    });

    it("is paid by x402-fetch 1.x, and the chain shows the transfer", async () => {
      const buyer = privateKeyToAccount(chain.accounts[mode.v1Buyer]!.privateKey);
      const [buyerBefore, sellerBefore] = await Promise.all([balanceOf(buyer.address), balanceOf(payTo)]);
      const response = await wrapV1(fetch, buyer, 1_000_000n)(`${proxyUrl}/services/llm/v1/chat?model=llama`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ answer: "paid content" });
      const seen = upstream.seen.at(-1)!;
      expect(seen.url).toBe("/v1/chat?model=llama");
      expect(seen.headers.authorization).toBe("Bearer sk-upstream-123");
      expect(String(seen.headers["x-payment-payer"]).toLowerCase()).toBe(buyer.address.toLowerCase());
      const settlement = JSON.parse(Buffer.from(seen.headers["x-payment-response"] as string, "base64").toString());
      expect(settlement).toMatchObject({ success: true, network: "base-sepolia" });
      expect(settlement.transaction).toMatch(/^0x[0-9a-f]{64}$/);
      expect(await balanceOf(buyer.address)).toBe(buyerBefore - PRICE);
      expect(await balanceOf(payTo)).toBe(sellerBefore + PRICE);
    });

    it("is paid by @x402/fetch 2.x, and the chain shows the transfer", async () => {
      const buyer = privateKeyToAccount(chain.accounts[mode.v2Buyer]!.privateKey);
      const client = new x402Client();
      registerExactEvmScheme(client, { signer: buyer });
      const [buyerBefore, sellerBefore] = await Promise.all([balanceOf(buyer.address), balanceOf(payTo)]);
      const response = await wrapV2(fetch, client)(`${proxyUrl}/services/llm/v1/embeddings`);
      expect(response.status).toBe(200);
      expect(upstream.seen.at(-1)!.url).toBe("/v1/embeddings");
      const settlement = JSON.parse(Buffer.from(upstream.seen.at(-1)!.headers["x-payment-response"] as string, "base64").toString());
      expect(settlement).toMatchObject({ success: true, network: "eip155:84532" });
      expect(await balanceOf(buyer.address)).toBe(buyerBefore - PRICE);
      expect(await balanceOf(payTo)).toBe(sellerBefore + PRICE);
    });

    it("refuses a used payment header replayed", async () => {
      const used = proxy.paymentHeaders.find((h) => JSON.parse(Buffer.from(h, "base64").toString()).x402Version === 1)!;
      const sellerBefore = await balanceOf(payTo);
      const response = await fetch(`${proxyUrl}/services/llm/v1/chat`, { headers: { "X-PAYMENT": used } });
      expect(response.status).toBe(402);
      expect((await response.json()).error).toMatch(/already used/);
      expect(await balanceOf(payTo)).toBe(sellerBefore);
    });

    it("lets exactly one of two concurrent requests with the same header through, tells the other to wait (never to pay again), and refuses it afterwards", async () => {
      const buyer = privateKeyToAccount(chain.accounts[mode.v1Buyer]!.privateKey);
      const unpaid = await (await fetch(`${proxyUrl}/services/llm/v1/chat`)).json();
      const header = await createPaymentHeader(buyer, 1, unpaid.accepts[0]);
      const [buyerBefore, sellerBefore] = await Promise.all([balanceOf(buyer.address), balanceOf(payTo)]);
      const send = () => fetch(`${proxyUrl}/services/llm/v1/chat`, { headers: { "X-PAYMENT": header } });
      const statuses = (await Promise.all([send(), send()])).map((r) => r.status).sort();
      expect(statuses).toEqual([200, 503]);
      expect((await send()).status).toBe(402);
      expect(await balanceOf(buyer.address)).toBe(buyerBefore - PRICE);
      expect(await balanceOf(payTo)).toBe(sellerBefore + PRICE);
    });
  });
}

paidFlow({ name: "local", runtime: "node", facilitator: "local", payTo: 4, v1Buyer: 2, v2Buyer: 3 });
paidFlow({ name: "remote", runtime: "deno", facilitator: "remote", payTo: 5, v1Buyer: 6, v2Buyer: 7 });
