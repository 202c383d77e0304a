// Metered payments end to end: the official @x402/evm upto client pays an LLM route priced
// per million tokens through the verifier's data path, on a real chain with our Permit2 and
// upto proxy, in-process facilitator. The seller's service is OpenAI-compatible and reports
// its usage; the chain shows that exactly the usage was charged (rounded up to the smallest
// unit), for a JSON answer and for a streamed one, and never the authorized maximum. With our
// in-process facilitator (verifier on Node) and with the official upto facilitator, remote
// (verifier on Deno), which the 402 names from its /supported.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { x402Client, x402HTTPClient } from "@x402/core/client";
import { UptoEvmScheme } from "@x402/evm/upto/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import { createPublicClient, createWalletClient, erc20Abi, http as viemHttp, maxUint256, publicActions } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, PERMIT2_ADDRESS, startChain } from "../../dev/chain/chain.ts";
import { freePort } from "../../dev/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../../dev/process.ts";
import { startOfficialFacilitator } from "./paid-service.ts";

const NETWORK = "eip155:84532";
/** 1.25 USDC per million tokens: 1.25 atomic units per token, rounded up per request. */
const cost = (tokens: number) => (BigInt(tokens) * 1_250_000n + 999_999n) / 1_000_000n;
let chain: Chain;
let service: http.Server;
let serviceUrl = "";

beforeAll(async () => {
  chain = await startChain();
  // An OpenAI-compatible service: 12 prompt tokens, `completion` completion tokens, streamed or not.
  service = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text) as { stream?: boolean; stream_options?: { include_usage?: boolean }; completion: number };
    const usage = { prompt_tokens: 12, completion_tokens: body.completion, total_tokens: 12 + body.completion };
    if (!body.stream) return void (res.writeHead(200, { "content-type": "application/json" }), res.end(JSON.stringify({ choices: [{ message: { content: "ok" } }], usage })));
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const piece of ["o", "k"]) res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: piece } }] })}\n\n`);
    if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({ choices: [], usage })}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((r) => service.listen(0, "127.0.0.1", r));
  serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await new Promise<void>((r) => (service.closeAllConnections(), service.close(() => r())));
  await chain?.stop();
});

/** A verifier serving the metered route on its data path; `base` is the route's public prefix there. */
async function startMeteredVerifier(mode: Mode) {
  const dir = mkdtempSync(join(tmpdir(), "x402-upto-"));
  const stops: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  writeFileSync(join(dir, "settlement.key"), chain.accounts[0]!.privateKey);
  writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop}
spec:
  pattern: /services/llm/*
  price: "0.00125"
  priceModel: perMTok
  perMTok: "1.25"
  payTo: "${chain.accounts[mode.payTo]!.address}"
  network: base-sepolia
  upstream: {url: "${serviceUrl}", stripPrefix: /services/llm}
  upto: {maxTokens: 4096}
`);
  let facilitator = "local";
  if (mode.facilitator === "remote") {
    const official = await startOfficialFacilitator(chain, dir);
    stops.push(official.stop);
    facilitator = official.url;
  }
  const [port, proxyPort] = [await freePort(), await freePort()];
  let verifier: Running;
  const startVerifier = async () => {
    verifier = start(mode.runtime, "main.ts", [
      "verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${port}`, "--data-path-listen", `127.0.0.1:${proxyPort}`,
      "--facilitator", facilitator, "--rpc", `base-sepolia=${chain.rpcUrl}`, "--settlement-key-file", join(dir, "settlement.key"),
    ]);
    await waitFor("verifier ready", () => httpReady(`http://127.0.0.1:${port}/readyz`), 30_000, verifier);
  };
  await startVerifier();
  stops.push(() => verifier.stop());
  return {
    base: `http://127.0.0.1:${proxyPort}/services/llm`,
    /** Stopped and started again: its in-process holds are gone. */
    restart: async () => (await verifier.stop(), await startVerifier()),
    stop: async () => { for (const stop of stops.reverse()) await stop(); },
  };
}

type Mode = { facilitator: "local" | "remote"; runtime: "node" | "deno"; payTo: number; jsonBuyer: number; streamBuyer: number; restartBuyer: number };

const usdcOf = (address: `0x${string}`) => createPublicClient({ chain: chain.viemChain, transport: viemHttp(chain.rpcUrl) }).readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });

async function meteredBuyer(index: number) {
  const account = privateKeyToAccount(chain.accounts[index]!.privateKey);
  const wallet = createWalletClient({ account, chain: chain.viemChain, transport: viemHttp(chain.rpcUrl) }).extend(publicActions);
  await wallet.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: chain.token, abi: erc20Abi, functionName: "approve", args: [PERMIT2_ADDRESS, maxUint256] }) });
  const client = new x402Client();
  client.register(NETWORK, new UptoEvmScheme(account));
  return { account, client, pay: wrapFetchWithPayment(fetch, client) };
}

const chat = (body: object) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

function meteredFlow(mode: Mode) {
describe(`metered payments through the data path, with the official upto client: ${mode.facilitator} facilitator, verifier on ${mode.runtime}`, () => {
  let verifier: Awaited<ReturnType<typeof startMeteredVerifier>>;
  let base = "";
  beforeAll(async () => {
    verifier = await startMeteredVerifier(mode);
    base = verifier.base;
  }, 120_000);
  afterAll(async () => await verifier?.stop());

  it("charges a JSON answer exactly its usage, and the client reads what it paid from PAYMENT-RESPONSE", async () => {
    const { account, client, pay } = await meteredBuyer(mode.jsonBuyer);
    const seller = chain.accounts[mode.payTo]!.address;
    const [buyerBefore, sellerBefore] = await Promise.all([usdcOf(account.address), usdcOf(seller)]);
    const response = await pay(`${base}/v1/chat/completions`, chat({ model: "m", max_tokens: 500, completion: 321 }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ usage: { total_tokens: 333 } });
    const settled = new x402HTTPClient(client).getPaymentSettleResponse((name) => response.headers.get(name));
    expect(settled).toMatchObject({ success: true, amount: String(cost(333)) });
    expect(await usdcOf(account.address)).toBe(buyerBefore - cost(333));
    expect(await usdcOf(seller)).toBe(sellerBefore + cost(333));
  });

  it("charges a streamed answer its usage once the stream ends; the receipt is the stream's last comment", async () => {
    const { account, pay } = await meteredBuyer(mode.streamBuyer);
    const before = await usdcOf(account.address);
    const response = await pay(`${base}/v1/chat/completions`, chat({ model: "m", max_tokens: 500, stream: true, completion: 77 }));
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain("data: [DONE]");
    const receipt = JSON.parse(Buffer.from(/^: x402-payment-response (\S+)$/m.exec(text)![1]!, "base64").toString());
    expect(receipt).toMatchObject({ success: true, amount: String(cost(89)), transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect(await usdcOf(account.address)).toBe(before - cost(89));
  });

  it("a stream paid before the verifier lost its hold (a restart) is served once more to the same payment, its receipt saying what moved, not the maximum", async () => {
    const { account, client } = await meteredBuyer(mode.restartBuyer);
    let sent: Request | undefined;
    const capture: typeof fetch = (input, init) => {
      const request = new Request(input, init);
      if (request.headers.has("payment-signature")) sent = request.clone();
      return fetch(request);
    };
    const before = await usdcOf(account.address);
    const body = { model: "m", max_tokens: 500, stream: true, completion: 77 };
    expect((await wrapFetchWithPayment(capture, client)(`${base}/v1/chat/completions`, chat(body))).status).toBe(200);
    await verifier.restart();
    const again = sent!.clone();
    const retry = await fetch(sent!);
    expect(retry.status).toBe(200);
    await retry.text();
    const receipt = JSON.parse(Buffer.from(retry.headers.get("payment-response")!, "base64").toString());
    expect(receipt).toMatchObject({ success: true, amount: String(cost(89)) });
    expect(await usdcOf(account.address)).toBe(before - cost(89));
    // Once: the next retry finds it done.
    expect((await fetch(again)).status).toBe(402);
  });
});
}

meteredFlow({ facilitator: "local", runtime: "node", payTo: 9, jsonBuyer: 2, streamBuyer: 3, restartBuyer: 6 });
meteredFlow({ facilitator: "remote", runtime: "deno", payTo: 8, jsonBuyer: 4, streamBuyer: 5, restartBuyer: 7 });
