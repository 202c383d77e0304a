// A settlement whose outcome the verifier cannot see (the chain's receipts vanish): the
// buyer gets 503, never 402; the transfer did happen; the buyer's retry of the same
// payment is served once, without a second charge, however many retries come at once.
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, erc20Abi, http as viemHttp } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment } from "x402-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, startChain } from "../../dev/chain/chain.ts";
import type { Running } from "../../dev/process.ts";
import { type PaidService, startPaidService } from "./paid-service.ts";

/** Forwards JSON-RPC to the chain; while `hideReceipts` is on, every receipt is "not found yet". */
async function startReceiptHidingRpc(target: string) {
  const state = { hideReceipts: false };
  const server = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text);
    const calls = Array.isArray(body) ? body : [body];
    const hidden = (c: { method: string }) => state.hideReceipts && c.method === "eth_getTransactionReceipt";
    const forwarded = calls.filter((c) => !hidden(c));
    const answers = forwarded.length
      ? await (await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(forwarded) })).json() as { id: unknown }[]
      : [];
    const reply = calls.map((c) => hidden(c) ? { jsonrpc: "2.0", id: c.id, result: null } : answers.find((a) => a.id === c.id));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(Array.isArray(body) ? reply : reply[0]));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

describe("unknown settlement outcome", () => {
  let chain: Chain;
  let verifier: Running;
  const stops: (() => Promise<unknown>)[] = [];
  let rpc: Awaited<ReturnType<typeof startReceiptHidingRpc>>;
  let proxy: PaidService["proxy"];
  let upstream: PaidService["upstream"];

  beforeAll(async () => {
    chain = await startChain();
    stops.push(() => chain.stop());
    rpc = await startReceiptHidingRpc(chain.rpcUrl);
    stops.push(rpc.close);
    const dir = mkdtempSync(join(tmpdir(), "x402-unknown-"));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "settlement.key"), chain.accounts[0]!.privateKey);
    writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop}
spec: {pattern: "/services/llm/*", price: "0.001", payTo: "${chain.accounts[4]!.address}", network: base-sepolia}
`);
    const service = await startPaidService(join(dir, "routes.yaml"), ["--facilitator", "local", "--rpc", `base-sepolia=${rpc.url}`, "--settlement-key-file", join(dir, "settlement.key"), "--answer-timeout", "3"]);
    stops.push(service.stop);
    ({ verifier, proxy, upstream } = service);
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const buyerAccount = (i: number) => privateKeyToAccount(chain.accounts[i]!.privateKey);
  const balanceOf = (address: `0x${string}`) =>
    createPublicClient({ chain: chain.viemChain, transport: viemHttp(chain.rpcUrl) }).readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });
  const retryOf = (header: string) => () => fetch(`${proxy.url}/services/llm/v1/chat`, { headers: { "X-PAYMENT": header } });

  it("answers 503, then serves the buyer's retry of the same payment once, charging once, though receipts stay hidden", async () => {
    const buyer = buyerAccount(2);
    const before = await balanceOf(buyer.address);
    rpc.state.hideReceipts = true;
    const first = await wrapFetchWithPayment(fetch, buyer, 1_000_000n)(`${proxy.url}/services/llm/v1/chat`);
    expect(first.status).toBe(503);
    expect((await first.json()).error).toContain("do not pay again");
    expect(await balanceOf(buyer.address)).toBe(before - 1000n); // the transfer landed all the same
    expect(upstream.seen).toHaveLength(0);

    // The token's logs tell what the hidden receipt would have: the retry is resolved from them.
    const retry = retryOf(proxy.paymentHeaders.at(-1)!);
    expect((await retry()).status).toBe(200);
    expect(upstream.seen).toHaveLength(1);
    expect((await retry()).status).toBe(402);
    expect(upstream.seen).toHaveLength(1);
    expect(await balanceOf(buyer.address)).toBe(before - 1000n);
    rpc.state.hideReceipts = false;
    expect(verifier.output()).not.toContain(chain.accounts[0]!.privateKey.slice(2));
  });

  it("serves exactly one of ten concurrent retries after an unknown outcome, and charges once", async () => {
    const buyer = buyerAccount(3);
    const before = await balanceOf(buyer.address);
    const seen = upstream.seen.length;
    rpc.state.hideReceipts = true;
    expect((await wrapFetchWithPayment(fetch, buyer, 1_000_000n)(`${proxy.url}/services/llm/v1/chat`)).status).toBe(503);
    rpc.state.hideReceipts = false;
    const retry = retryOf(proxy.paymentHeaders.at(-1)!);
    const statuses = (await Promise.all(Array.from({ length: 10 }, retry))).map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(503)]);
    expect(upstream.seen.length).toBe(seen + 1);
    expect((await retry()).status).toBe(402);
    expect(await balanceOf(buyer.address)).toBe(before - 1000n);
  });
});
