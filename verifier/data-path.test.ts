// The data path with a real upstream on loopback and a scripted facilitator (the real
// facilitators and clients are proven in tests/interop/data-path.test.ts): settled only once
// the upstream answered < 400, never for a failure, a timeout or no answer; bodies streamed
// both ways; what crosses the proxy and what does not.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPath, type DataPathDeps } from "./data-path.ts";
import type { SettleOutcome } from "./x402/facilitator.ts";
import { PAY_TO, pricedRoute, scripted, SETTLED, signedPayment, VALID, verifierDeps } from "./test-support.ts";

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };
const seen: Seen[] = [];
let upstream: http.Server;
let upstreamUrl = "";
/** Lets a test hold the stream's second chunk back. */
let releaseSecondChunk: () => void = () => {};

beforeAll(async () => {
  upstream = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    const path = (req.url ?? "").replace(/\?.*/, "");
    if (path === "/fail") return void (res.writeHead(500, { "content-type": "application/json" }), res.end('{"error":"model crashed"}'));
    if (path === "/slow") return void setTimeout(() => (res.writeHead(200), res.end("late")), 3000);
    if (path === "/reset") return void req.socket.destroy();
    if (path === "/stream") {
      res.writeHead(200, { "content-type": "text/event-stream", connection: "x-private", "x-private": "hop" });
      res.write("data: first\n\n");
      await new Promise<void>((r) => (releaseSecondChunk = r));
      return void res.end("data: second\n\n");
    }
    res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
    res.end(JSON.stringify({ path: req.url, body }));
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r()))));

function setup(settle: SettleOutcome | (() => SettleOutcome) = SETTLED, extra: Partial<DataPathDeps> = {}) {
  const route = pricedRoute({ upstream: { url: upstreamUrl, stripPrefix: "/services/llm" }, upstreamAuth: { secretKeyRef: { name: "llm", key: "token" }, scheme: "Bearer" } });
  const order: string[] = [];
  const { facilitator, calls } = scripted(VALID, () => (order.push(`settle after ${seen.length} upstream requests`), typeof settle === "function" ? settle() : settle));
  const deps: DataPathDeps = { ...verifierDeps(facilitator, { upstreamAuthorization: async () => ({ ok: true, authorization: "Bearer sk-upstream" }) }, route), upstreamTimeoutMs: 1000, ...extra };
  return { handler: dataPath(deps), calls, order };
}
const req = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) => new Request(`http://api.example.com${path}`, { headers, ...init });

describe("the data path", () => {
  it("asks an unpaid request for payment, as ForwardAuth does, without calling the upstream", async () => {
    const before = seen.length;
    const response = await setup().handler(req("/services/llm/v1/chat"));
    expect(response.status).toBe(402);
    expect(response.headers.get("payment-required")).toBeTruthy();
    expect(seen.length).toBe(before);
  });

  it("settles only after the upstream answered, then serves its answer with the receipt; the upstream sees the route's credentials and the priced path, not the payment", async () => {
    const { handler, calls, order } = setup();
    const before = seen.length;
    const response = await handler(req("/services/llm/v1/chat?x=1", { "x-payment": await signedPayment({}, { nonce: 101 }), authorization: "Bearer buyer-token", "x-payment-payer": "0xforged" }, { method: "POST", body: '{"prompt":"hi"}' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: "/v1/chat?x=1", body: '{"prompt":"hi"}' });
    expect(response.headers.get("x-upstream")).toBe("yes");
    const receipt = JSON.parse(Buffer.from(response.headers.get("x-payment-response")!, "base64").toString());
    expect(receipt).toMatchObject({ success: true, network: "base-sepolia", transaction: SETTLED.kind === "settled" ? SETTLED.transaction : "" });
    expect(order).toEqual([`settle after ${before + 1} upstream requests`]);
    expect(calls.settle).toBe(1);
    const got = seen.at(-1)!;
    expect(got.headers.authorization).toBe("Bearer sk-upstream");
    expect(got.headers["x-payment"]).toBeUndefined();
    expect(String(got.headers["x-payment-payer"]).toLowerCase()).not.toBe("0xforged");
  });

  it("settles nothing when the upstream fails, passes its answer on, and lets the same payment be used again", async () => {
    const { handler, calls } = setup();
    const payment = await signedPayment({}, { nonce: 102 });
    const failed = await handler(req("/services/llm/fail", { "x-payment": payment }));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: "model crashed" });
    expect(calls.settle).toBe(0);
    // Not held any more: the buyer's same authorization pays a later request.
    expect((await handler(req("/services/llm/ok", { "x-payment": payment }))).status).toBe(200);
    expect(calls.settle).toBe(1);
  });

  it("settles nothing when the upstream does not answer in time, resets, or cannot be reached (504, 502)", async () => {
    const { handler, calls } = setup();
    expect((await handler(req("/services/llm/slow", { "x-payment": await signedPayment({}, { nonce: 103 }) }))).status).toBe(504);
    expect((await handler(req("/services/llm/reset", { "x-payment": await signedPayment({}, { nonce: 104 }) }))).status).toBe(502);
    const gone = pricedRoute({ upstream: { url: "http://127.0.0.1:1" } });
    const { facilitator, calls: goneCalls } = scripted(VALID, SETTLED);
    const unreachable = dataPath({ ...verifierDeps(facilitator, {}, gone), upstreamTimeoutMs: 1000 });
    expect((await unreachable(req("/services/llm/x", { "x-payment": await signedPayment({}, { nonce: 105 }) }))).status).toBe(502);
    expect(calls.settle + goneCalls.settle).toBe(0);
  });

  it("answers 402 or 503 instead of the body when the settlement fails or its outcome is unknown", async () => {
    const failed = await setup({ kind: "failed", reason: "insufficient_funds", message: "poor" }).handler(req("/services/llm/ok", { "x-payment": await signedPayment({}, { nonce: 106 }) }));
    expect(failed.status).toBe(402);
    const unknown = await setup({ kind: "unknown", message: "no receipt" }).handler(req("/services/llm/ok", { "x-payment": await signedPayment({}, { nonce: 107 }) }));
    expect(unknown.status).toBe(503);
    expect(unknown.headers.get("retry-after")).toBeTruthy();
    expect(await unknown.text()).not.toContain("path");
  });

  it("streams the upstream's body as it comes (never buffered) and drops hop-by-hop headers", async () => {
    const response = await setup().handler(req("/services/llm/stream", { "x-payment": await signedPayment({}, { nonce: 108 }) }));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-private")).toBeNull();
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe("data: first\n\n");
    releaseSecondChunk();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe("data: second\n\n");
  });

  it("refuses WebSocket upgrades, paths it would read otherwise, and routes without an upstream", async () => {
    const { handler } = setup();
    expect((await handler(req("/services/llm/ws", { upgrade: "websocket", connection: "upgrade" }))).status).toBe(400);
    expect((await handler(req("/services/llm/a%2Fb"))).status).toBe(400);
    expect((await handler(req("/elsewhere"))).status).toBe(404);
    const forwardAuthOnly = dataPath({ ...verifierDeps(scripted(VALID, SETTLED).facilitator), upstreamTimeoutMs: 1000 });
    expect((await forwardAuthOnly(req("/services/llm/x"))).status).toBe(404);
  });

  it("in verify-only mode forwards a verified payment and settles nothing", async () => {
    const route = pricedRoute({ payTo: PAY_TO, upstream: { url: upstreamUrl, stripPrefix: "/services/llm" } });
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const handler = dataPath({ ...verifierDeps(facilitator, { mode: "verify-only" }, route), upstreamTimeoutMs: 1000 });
    expect((await handler(req("/services/llm/ok", { "x-payment": await signedPayment({}, { nonce: 109 }) }))).status).toBe(200);
    expect(calls.settle).toBe(0);
  });
});

describe("the data path's route binding", () => {
  it("prices by the route the offer's HTTPRoute names, whatever other patterns say, and keeps the header from the upstream", async () => {
    const own = pricedRoute({ upstream: { url: upstreamUrl, stripPrefix: "/services/llm" } }, { name: "llm-payment", namespace: "shop" });
    const hijacker = pricedRoute({ pattern: "/services/llm/v1/*", price: "0.000001", upstream: { url: "http://127.0.0.1:1" } }, { name: "cheap", namespace: "evil" });
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const deps = verifierDeps(facilitator, { routeByKey: (key) => (key === own.key ? own : key === hijacker.key ? hijacker : undefined) }, own);
    const handler = dataPath({ ...deps, routes: () => ({ lookup: () => hijacker, size: 2 }) as never, upstreamTimeoutMs: 1000 });
    const response = await handler(req("/services/llm/v1/chat", { "x-payment-route": own.key, "x-payment": await signedPayment({}, { nonce: 110 }) }));
    expect(response.status).toBe(200);
    expect(calls.settle).toBe(1);
    expect(seen.at(-1)!.headers["x-payment-route"]).toBeUndefined();
    // A route the verifier does not serve: not now, and nothing taken.
    expect((await handler(req("/services/llm/v1/chat", { "x-payment-route": "shop/gone" }))).status).toBe(503);
  });
});
