// Metered payments (x402 upto) through the data path, with an OpenAI-compatible upstream on
// loopback and a scripted facilitator (real chain and official clients: tests/interop/
// upto-data-path.test.ts): the 402 offers upto for this very request; the charge is what the
// upstream reported, rounded up, never above what was authorized; streams pass as they come.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPath, type DataPathDeps } from "./data-path.ts";
import { tokenCost } from "./routes/metering.ts";
import { verifierMetrics } from "./metrics.ts";
import { memoryReplayGuard } from "./replay-guard.ts";
import type { PaymentContext } from "./x402/facilitator.ts";
import { pricedRoute, scripted, SETTLED, signedUptoPayment, VALID, verifierDeps } from "./test-support.ts";

const SETTLER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const bodies: Record<string, unknown>[] = [];
let release: () => void = () => {};
let upstream: http.Server;
let base = "";

beforeAll(async () => {
  upstream = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text || "{}") as { stream?: boolean; stream_options?: { include_usage?: boolean }; usage?: number; hold?: boolean };
    bodies.push(body);
    const usage = { prompt_tokens: 12, completion_tokens: body.usage ?? 30 };
    if (!body.stream) return void (res.writeHead(200, { "content-type": "application/json" }), res.end(JSON.stringify({ choices: [{ message: { content: "hello" } }], usage })));
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "hel" } }] })}\n\n`);
    if (body.hold) await new Promise<void>((r) => (release = r));
    res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "lo" } }] })}\n\n`);
    if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({ choices: [], usage })}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r()))));

function setup(settler: `0x${string}` | null = SETTLER, overrides: Partial<DataPathDeps> = {}) {
  const route = pricedRoute({ priceModel: "perMTok", perMTok: "1.25", price: "0.00125", upstream: { url: base, stripPrefix: "/services/llm" }, upto: { maxTokens: 4096 } });
  const settled: PaymentContext[] = [];
  const { facilitator, calls } = scripted(VALID, SETTLED);
  const settle = facilitator.settle;
  facilitator.settle = (context) => (settled.push({ ...context }), settle(context));
  const deps: DataPathDeps = { ...verifierDeps(facilitator, { meteredSettler: () => settler ?? undefined }, route), upstreamTimeoutMs: 2000, ...overrides };
  return { route, handler: dataPath(deps), settled, calls, deps };
}
const post = (body: object, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  new Request("http://api.example.com/services/llm/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), signal });
const decode = (header: string) => JSON.parse(Buffer.from(header, "base64").toString("utf8"));
const cost = (tokens: number) => tokenCost({ perMTokAtomic: 1_250_000n, maxTokens: 4096 }, tokens);

/** The upto accept the 402 offers for `body`. */
async function uptoOffered(handler: ReturnType<typeof setup>["handler"], body: object) {
  const response = await handler(post(body));
  expect(response.status).toBe(402);
  const accepts = decode(response.headers.get("payment-required")!).accepts as Record<string, unknown>[];
  return accepts;
}

describe("metered payments through the data path", () => {
  it("offers upto beside the route's own terms, for at most what this request may use, named to our settler", async () => {
    const { handler } = setup();
    const body = { model: "m", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };
    const accepts = await uptoOffered(handler, body);
    expect(accepts.map((a) => a.scheme)).toEqual(["exact", "upto"]);
    const bytes = Buffer.byteLength(JSON.stringify(body));
    expect(accepts[1]).toMatchObject({ amount: String(cost(100 + bytes)), extra: { facilitatorAddress: SETTLER, assetTransferMethod: "permit2" } });
    // Without an account to settle metered payments, only the route's own terms are offered.
    expect((await uptoOffered(setup(null).handler, body)).map((a) => a.scheme)).toEqual(["exact"]);
  });

  it("charges what a JSON answer used, rounded up, with the receipt in PAYMENT-RESPONSE", async () => {
    const { route, handler, settled } = setup();
    const body = { model: "m", max_tokens: 100, usage: 30 };
    const priced = { ...route, accepts: [...route.accepts] };
    const [, upto] = await uptoOffered(handler, body);
    const accept = { ...priced.accepts[0]!, scheme: "upto" as const, amount: BigInt(upto!.amount as string), v2Requirement: upto!, facilitator: SETTLER as `0x${string}`, asset: { ...priced.accepts[0]!.asset, transferMethod: "permit2" as const } };
    const response = await handler(post(body, { "payment-signature": await signedUptoPayment(accept, { nonce: "601" }) }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ usage: { prompt_tokens: 12, completion_tokens: 30 } });
    expect(decode(response.headers.get("payment-response")!)).toMatchObject({ success: true, amount: String(cost(42)) });
    expect(settled.map((c) => c.charge)).toEqual([cost(42)]);
  });

  it("passes a stream on as it comes, asks it for its usage, and charges it at the end with the receipt as a final comment", async () => {
    const { route, handler, settled } = setup();
    const body = { model: "m", max_tokens: 200, stream: true, usage: 50, hold: true };
    const [, upto] = await uptoOffered(handler, body);
    const accept = { ...route.accepts[0]!, scheme: "upto" as const, amount: BigInt(upto!.amount as string), v2Requirement: upto!, facilitator: SETTLER as `0x${string}`, asset: { ...route.accepts[0]!.asset, transferMethod: "permit2" as const } };
    const response = await handler(post(body, { "payment-signature": await signedUptoPayment(accept, { nonce: "602" }) }));
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    // The first event arrives while the upstream still holds the rest back: nothing is buffered.
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"hel"');
    expect(settled).toEqual([]);
    release();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(bodies.at(-1)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const receipt = /^: x402-payment-response (\S+)$/m.exec(rest)?.[1];
    expect(decode(receipt!)).toMatchObject({ success: true, amount: String(cost(62)) });
    expect(settled.map((c) => c.charge)).toEqual([cost(62)]);
  });

  it("hands a stream its receipt and counts its revenue when it was settled but its 'done' could not be recorded (a fleet's store away)", async () => {
    const guard = memoryReplayGuard();
    const marks: string[] = [];
    const mark = guard.mark;
    // The shared store is unreachable when the settled stream is to be marked done: the write is kept.
    guard.mark = async (key, state, transaction) => (marks.push(state), state === "done" && marks.length === 1 ? "kept" : mark(key, state, transaction));
    const metrics = verifierMetrics();
    const { route, handler, settled } = setup(SETTLER, { guard, metrics });
    const body = { model: "m", max_tokens: 200, stream: true, usage: 50 };
    const [, upto] = await uptoOffered(handler, body);
    const accept = { ...route.accepts[0]!, scheme: "upto" as const, amount: BigInt(upto!.amount as string), v2Requirement: upto!, facilitator: SETTLER as `0x${string}`, asset: { ...route.accepts[0]!.asset, transferMethod: "permit2" as const } };
    const response = await handler(post(body, { "payment-signature": await signedUptoPayment(accept, { nonce: "611" }) }));
    const text = await response.text();
    expect(decode(/^: x402-payment-response (\S+)$/m.exec(text)![1]!)).toMatchObject({ success: true, amount: String(cost(62)) });
    expect(settled.map((c) => c.charge)).toEqual([cost(62)]);
    expect(metrics.registry.render()).toContain(`offer_name="llm",chain="base-sepolia",asset_symbol="USDC",asset="0x036CbD53842c5426634e7929541eC2318f3dCF7e"} ${cost(62)}`);
    // Delivered: its permit is held as used, never served a second time.
    expect(marks.at(-1)).toBe("done");
  });

  it("charges a buyer who left mid-stream the usage the upstream then reports, and never more than authorized", async () => {
    const { route, handler, settled } = setup();
    const streamed = { model: "m", stream: true, hold: true };
    const [, upto] = await uptoOffered(handler, streamed);
    const accept = (u: Record<string, unknown>) => ({ ...route.accepts[0]!, scheme: "upto" as const, amount: BigInt(u.amount as string), v2Requirement: u, facilitator: SETTLER as `0x${string}`, asset: { ...route.accepts[0]!.asset, transferMethod: "permit2" as const } });
    // As a server sees a buyer leave: its request's signal aborts, and the answer's body is cancelled.
    const buyer = new AbortController();
    const response = await handler(post(streamed, { "payment-signature": await signedUptoPayment(accept(upto!), { nonce: "603" }) }, buyer.signal));
    const reader = response.body!.getReader();
    await reader.read();
    buyer.abort();
    await reader.cancel();
    // The upstream is read on, briefly, for its usage (it was asked for it) and stopped.
    release();
    await new Promise((r) => setTimeout(r, 100));
    expect(settled.map((c) => c.charge)).toEqual([cost(42)]);

    // An upstream reporting more than the maximum is charged the maximum.
    const greedy = { model: "m", max_tokens: 10, usage: 1_000_000 };
    const [, capped] = await uptoOffered(handler, greedy);
    const answer = await handler(post(greedy, { "payment-signature": await signedUptoPayment(accept(capped!), { nonce: "604" }) }));
    expect(answer.status).toBe(200);
    expect(settled.at(-1)!.charge).toBe(BigInt(capped!.amount as string));
  });
});
