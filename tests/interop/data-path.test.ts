// The verifier's data path, end to end on a real chain with the official clients: the
// verifier process proxies to the seller's service itself (--data-path-listen), settles
// only once the service answered < 400, and hands the buyer the receipt where each official
// client reads it. When the service fails or breaks off, the buyer keeps its money and its
// authorization stays unspent on chain. In-process facilitator with the verifier on Node;
// the official remote facilitator with the verifier on Deno.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { x402HTTPClient } from "@x402/core/client";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment as wrapV2, x402Client } from "@x402/fetch";
import { createPublicClient, erc20Abi, http as viemHttp, parseAbi } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createPaymentHeader } from "x402/client";
import { decodeXPaymentResponse, wrapFetchWithPayment as wrapV1 } from "x402-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, startChain } from "../../dev/chain/chain.ts";
import { freePort } from "../../dev/free-port.ts";
import { httpReady, type Running, type Runtime, start, waitFor } from "../../dev/process.ts";
import { startOfficialFacilitator } from "./paid-service.ts";

const PRICE = 1000n;
let chain: Chain;
beforeAll(async () => {
  chain = await startChain();
}, 120_000);
afterAll(async () => await chain?.stop());

const reader = () => createPublicClient({ chain: chain.viemChain, transport: viemHttp(chain.rpcUrl) });
const balanceOf = (address: `0x${string}`) => reader().readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });
const authorizationUsed = (from: `0x${string}`, nonce: `0x${string}`) =>
  reader().readContract({ address: chain.token, abi: parseAbi(["function authorizationState(address, bytes32) view returns (bool)"]), functionName: "authorizationState", args: [from, nonce] });

/** The seller's service: answers, fails, or breaks off, and records what reached it. */
async function startService() {
  const seen: { url: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    if (req.url?.startsWith("/fail")) return void (res.writeHead(500, { "content-type": "application/json" }), res.end('{"error":"model crashed"}'));
    if (req.url?.startsWith("/reset")) return void req.socket.destroy();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ answer: "paid content", path: req.url }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

type Mode = { facilitator: "local" | "remote"; runtime: Runtime; payTo: number; v1Buyer: number; v2Buyer: number };

function dataPathFlow(mode: Mode) {
  describe(`data path: ${mode.facilitator} facilitator, verifier on ${mode.runtime}`, () => {
    const stops: (() => Promise<unknown>)[] = [];
    let base = "";
    let payTo: `0x${string}`;
    let service: Awaited<ReturnType<typeof startService>>;
    let verifier: Running;

    beforeAll(async () => {
      payTo = chain.accounts[mode.payTo]!.address;
      const dir = mkdtempSync(join(tmpdir(), "x402-data-path-"));
      stops.push(async () => rmSync(dir, { recursive: true, force: true }));
      service = await startService();
      stops.push(service.close);
      writeFileSync(join(dir, "settlement.key"), chain.accounts[0]!.privateKey);
      mkdirSync(join(dir, "secrets", "llm"), { recursive: true });
      writeFileSync(join(dir, "secrets", "llm", "token"), "sk-upstream-123\n");
      writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop}
spec:
  pattern: /services/llm/*
  price: "0.001"
  payTo: "${payTo}"
  network: base-sepolia
  upstream: {url: "${service.url}", stripPrefix: /services/llm}
  upstreamAuth: {secretKeyRef: {name: llm, key: token}, scheme: Bearer}
`);
      let facilitator = "local";
      if (mode.facilitator === "remote") {
        const official = await startOfficialFacilitator(chain, dir);
        stops.push(official.stop);
        facilitator = official.url;
      }
      const [port, proxyPort] = [await freePort(), await freePort()];
      verifier = start(mode.runtime, "main.ts", [
        "verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${port}`, "--data-path-listen", `127.0.0.1:${proxyPort}`,
        "--facilitator", facilitator, "--rpc", `base-sepolia=${chain.rpcUrl}`, "--settlement-key-file", join(dir, "settlement.key"), "--secrets-dir", join(dir, "secrets"),
      ]);
      stops.push(() => verifier.stop());
      await waitFor("verifier ready", () => httpReady(`http://127.0.0.1:${port}/readyz`), 30_000, verifier);
      base = `http://127.0.0.1:${proxyPort}/services/llm`;
    }, 120_000);
    afterAll(async () => {
      for (const stop of stops.reverse()) await stop();
    });

    it("is paid by x402-fetch 1.x: the service answers, then the payment settles, and the buyer reads the receipt from X-PAYMENT-RESPONSE", async () => {
      const buyer = privateKeyToAccount(chain.accounts[mode.v1Buyer]!.privateKey);
      const [buyerBefore, sellerBefore] = await Promise.all([balanceOf(buyer.address), balanceOf(payTo)]);
      const response = await wrapV1(fetch, buyer, 1_000_000n)(`${base}/v1/chat?model=llama`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ answer: "paid content", path: "/v1/chat?model=llama" });
      expect(service.seen.at(-1)!.headers.authorization).toBe("Bearer sk-upstream-123");
      const receipt = decodeXPaymentResponse(response.headers.get("x-payment-response")!);
      expect(receipt).toMatchObject({ success: true, network: "base-sepolia", transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
      expect(await balanceOf(buyer.address)).toBe(buyerBefore - PRICE);
      expect(await balanceOf(payTo)).toBe(sellerBefore + PRICE);
    });

    it("is paid by @x402/fetch 2.x, which reads the receipt from PAYMENT-RESPONSE", async () => {
      const buyer = privateKeyToAccount(chain.accounts[mode.v2Buyer]!.privateKey);
      const client = new x402Client();
      registerExactEvmScheme(client, { signer: buyer });
      const before = await balanceOf(buyer.address);
      const response = await wrapV2(fetch, client)(`${base}/v1/embeddings`);
      expect(response.status).toBe(200);
      const settled = new x402HTTPClient(client).getPaymentSettleResponse((name) => response.headers.get(name));
      expect(settled).toMatchObject({ success: true, network: "eip155:84532", transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
      expect(await balanceOf(buyer.address)).toBe(before - PRICE);
    });

    it.each(["fail", "reset"])("takes nothing when the service %ss: the buyer's balance is unchanged and its authorization unspent", async (what) => {
      const buyer = privateKeyToAccount(chain.accounts[mode.v1Buyer]!.privateKey);
      const unpaid = await fetch(`${base}/${what}`);
      expect(unpaid.status).toBe(402);
      const requirement = (await unpaid.json()).accepts[0];
      const header = await createPaymentHeader(buyer, 1, requirement);
      const { authorization } = JSON.parse(Buffer.from(header, "base64").toString()).payload;
      const [buyerBefore, sellerBefore] = await Promise.all([balanceOf(buyer.address), balanceOf(payTo)]);
      const response = await fetch(`${base}/${what}`, { headers: { "X-PAYMENT": header } });
      expect(response.status).toBe(what === "fail" ? 500 : 502);
      expect(response.headers.get("x-payment-response")).toBeNull();
      expect(await authorizationUsed(buyer.address, authorization.nonce)).toBe(false);
      expect(await balanceOf(buyer.address)).toBe(buyerBefore);
      expect(await balanceOf(payTo)).toBe(sellerBefore);
      // The hold was let go: the same authorization pays the next, successful request, once.
      expect((await fetch(`${base}/ok`, { headers: { "X-PAYMENT": header } })).status).toBe(200);
      expect((await fetch(`${base}/ok`, { headers: { "X-PAYMENT": header } })).status).toBe(402);
      expect(await balanceOf(buyer.address)).toBe(buyerBefore - PRICE);
    });
  });
}

dataPathFlow({ facilitator: "local", runtime: "node", payTo: 9, v1Buyer: 2, v2Buyer: 3 });
dataPathFlow({ facilitator: "remote", runtime: "deno", payTo: 8, v1Buyer: 4, v2Buyer: 5 });
