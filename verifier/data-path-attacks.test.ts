// Attacks on the data path (exact scheme): a buyer steering the verifier elsewhere or
// smuggling headers and requests, a buyer leaving early or sending junk, an upstream that
// redirects or forges receipts, a facilitator that loses track. Real upstreams on loopback,
// a scripted facilitator.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPath } from "./data-path.ts";
import type { Resolution, SettleOutcome } from "./x402/facilitator.ts";
import { BUYER, pricedRoute, scripted, SETTLED, signedPayment, VALID, verifierDeps } from "./test-support.ts";

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };
const seen: Seen[] = [];
/** Hits on a server the upstream only points at: the verifier must never call it. */
let elsewhereHits = 0;
let release: () => void = () => {};
let upstream: http.Server;
let elsewhere: http.Server;
let base = "";
let elsewhereUrl = "";

beforeAll(async () => {
  elsewhere = http.createServer((_req, res) => (elsewhereHits++, res.end("secret")));
  upstream = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    const path = (req.url ?? "").replace(/\?.*/, "");
    if (path.endsWith("/redirect")) return void (res.writeHead(302, { location: `${elsewhereUrl}/secret` }), res.end());
    if (path.endsWith("/hold")) await new Promise<void>((r) => (release = r));
    if (path.endsWith("/forge")) {
      res.writeHead(200, { "x-payment-response": "Zm9yZ2Vk", "payment-response": "Zm9yZ2Vk", connection: "x-hop", "x-hop": "1", "keep-alive": "timeout=5" });
      return void res.end("served");
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ url: req.url, body }));
  });
  for (const server of [upstream, elsewhere]) await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const server of [upstream, elsewhere]) await new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
});

function setup(settle: SettleOutcome = SETTLED, resolve: Resolution = { kind: "unknown", message: "cannot tell" }) {
  const route = pricedRoute({ upstream: { url: `${base}/api`, stripPrefix: "/services/llm" }, upstreamAuth: { secretKeyRef: { name: "llm", key: "token" }, scheme: "Bearer" } });
  const { facilitator, calls } = scripted(VALID, () => settle, () => resolve);
  const deps = verifierDeps(facilitator, { upstreamAuthorization: async () => ({ ok: true, authorization: "Bearer sk-upstream" }) }, route);
  return { handler: dataPath({ ...deps, upstreamTimeoutMs: 1500 }), calls, setResolve: (r: Resolution) => (resolve = r) };
}
const req = (url: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  new Request(url.startsWith("http") ? url : `http://api.example.com${url}`, { headers, ...init });
let nonce = 300;
const pay = async () => ({ "x-payment": await signedPayment({}, { nonce: nonce++ }) });
const decode = (header: string) => JSON.parse(Buffer.from(header, "base64").toString("utf8"));

describe("a buyer steering the data path elsewhere", () => {
  it("refuses path tricks before any payment, and forwards only to the route's upstream under its base path", async () => {
    const { handler, calls } = setup();
    const before = seen.length;
    for (const path of ["/services/llm/%2e%2e/admin", "/services/llm/..%2Fadmin", "/services/llm//admin", "/services/llm/a%5Cb", "/services/llm/.%2e/x", "/services/llm/a%00b"]) {
      // 404: the URL parser resolved an encoded dot segment before us, so no priced path matched.
      const status = (await handler(req(path, await pay()))).status;
      expect({ path, refused: [400, 404].includes(status) }).toEqual({ path, refused: true });
    }
    expect(seen.length).toBe(before);
    expect(calls.verify).toBe(0);
    // Encoded "?" and "#" stay in the path; a query cannot climb out of it.
    const ok = await handler(req("/services/llm/x%3Fy=1%23z?next=/../../admin", await pay()));
    expect(ok.status).toBe(200);
    expect(seen.at(-1)!.url).toBe("/api/x%3Fy%3D1%23z?next=/../../admin");
  });

  it("ignores the absolute-form URL, Host and X-Forwarded-Host the buyer sends: the request still goes to the route's upstream", async () => {
    const { handler } = setup();
    const elsewhereHost = new URL(elsewhereUrl).host;
    const response = await handler(req(`${elsewhereUrl}/services/llm/v1/chat`, { ...await pay(), host: elsewhereHost, "x-forwarded-host": elsewhereHost }));
    expect(response.status).toBe(200);
    expect(seen.at(-1)!.url).toBe("/api/v1/chat");
    expect(seen.at(-1)!.headers.host).toBe(new URL(base).host);
    expect(elsewhereHits).toBe(0);
  });

  it("never passes on the payment, a forged payer, the buyer's credentials, or headers the buyer names in Connection", async () => {
    const { handler } = setup();
    const headers = { ...await pay(), authorization: "Bearer buyer", connection: "authorization, x-secret", "x-secret": "1", "proxy-authorization": "Basic eA==", te: "trailers", "x-payment-payer": "0xforged" };
    expect((await handler(req("/services/llm/v1/chat", headers))).status).toBe(200);
    const got = seen.at(-1)!.headers;
    expect(got.authorization).toBe("Bearer sk-upstream");
    expect([got["x-payment"], got["payment-signature"], got["x-secret"], got["proxy-authorization"], got.te]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(String(got["x-payment-payer"]).toLowerCase()).toBe(BUYER.toLowerCase());
  });

  it("cannot smuggle a second request in the body or through conflicting length headers", async () => {
    const { handler } = setup();
    const smuggled = "0\r\n\r\nPOST /api/admin HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    const before = seen.length;
    const headers = { ...await pay(), "content-length": "1", "transfer-encoding": "chunked", "content-type": "text/plain" };
    const response = await handler(req("/services/llm/v1/chat", headers, { method: "POST", body: smuggled }));
    expect(response.status).toBe(200);
    expect(seen.length).toBe(before + 1);
    expect(seen.at(-1)!).toMatchObject({ method: "POST", url: "/api/v1/chat", body: smuggled });
  });

  it("refuses WebSocket and h2c upgrades before any payment is looked at", async () => {
    const { handler, calls } = setup();
    for (const upgrade of ["websocket", "h2c"]) expect((await handler(req("/services/llm/ws", { ...await pay(), connection: "upgrade", upgrade }))).status).toBe(400);
    expect(calls.verify).toBe(0);
  });
});

describe("a cheating or clumsy buyer", () => {
  it("gets 400 or 402 for malformed payment headers, never 500, and the upstream is not called", async () => {
    const { handler } = setup();
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const valid = JSON.parse(Buffer.from((await pay())["x-payment"], "base64").toString());
    const junk = ["", "!!!!", b64("{}"), b64("[]"), b64("null"), b64('{"x402Version":1}'), "A".repeat(9000),
      b64(JSON.stringify({ ...valid, payload: { ...valid.payload, authorization: { ...valid.payload.authorization, value: "-1" } } })),
      b64(JSON.stringify({ ...valid, payload: { ...valid.payload, authorization: { ...valid.payload.authorization, value: "9".repeat(100) } } })),
      b64(JSON.stringify({ ...valid, x402Version: 2 }))];
    const before = seen.length;
    for (const header of junk) {
      const status = (await handler(req("/services/llm/v1/chat", { "x-payment": header }))).status;
      expect({ header: header.slice(0, 40), refused: [400, 402].includes(status) }).toEqual({ header: header.slice(0, 40), refused: true });
      expect((await handler(req("/services/llm/v1/chat", { "payment-signature": header }))).status).toBeLessThan(500);
    }
    expect(seen.length).toBe(before);
  });

  it("who leaves before the upstream answered pays nothing, and may use the same payment again", async () => {
    const { handler, calls } = setup();
    const payment = await pay();
    const leaving = new AbortController();
    const before = seen.length;
    const pending = handler(req("/services/llm/hold", payment, { signal: leaving.signal }));
    while (seen.length === before) await new Promise((r) => setTimeout(r, 5));
    leaving.abort();
    const response = await pending;
    release();
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(calls.settle).toBe(0);
    expect((await handler(req("/services/llm/ok", payment))).status).toBe(200);
    expect(calls.settle).toBe(1);
  });

  it("cannot pay once and be served twice", async () => {
    const { handler, calls } = setup();
    const payment = await pay();
    expect((await handler(req("/services/llm/ok", payment))).status).toBe(200);
    const before = seen.length;
    const again = await Promise.all([handler(req("/services/llm/ok", payment)), handler(req("/services/llm/ok", payment))]);
    expect(again.map((r) => r.status)).toEqual([402, 402]);
    expect(seen.length).toBe(before);
    expect(calls.settle).toBe(1);
  });
});

describe("a malicious upstream, a broken facilitator", () => {
  it("a redirect is passed on to the buyer, never followed by the verifier", async () => {
    const { handler } = setup();
    const response = await handler(req("/services/llm/redirect", await pay()));
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`${elsewhereUrl}/secret`);
    expect(elsewhereHits).toBe(0);
  });

  it("the buyer gets our receipt, never the upstream's forged ones, nor its hop-by-hop headers", async () => {
    const { handler } = setup();
    const response = await handler(req("/services/llm/forge", await pay()));
    expect(await response.text()).toBe("served");
    expect(decode(response.headers.get("x-payment-response")!)).toMatchObject({ success: true, payer: BUYER });
    expect([response.headers.get("x-hop"), response.headers.get("keep-alive")]).toEqual([null, null]);
    expect(response.headers.get("payment-response")).toBeNull(); // a v1 buyer's receipt is X-PAYMENT-RESPONSE only
  });

  it("an unknown settlement withholds the body and keeps the hold: retries wait (503) without calling the upstream, then the landed payment serves once", async () => {
    const s = setup({ kind: "unknown", message: "no receipt" });
    const payment = await pay();
    const first = await s.handler(req("/services/llm/ok", payment));
    expect(first.status).toBe(503);
    expect(first.headers.get("retry-after")).toBeTruthy();
    expect(await first.text()).not.toContain("url");
    const before = seen.length;
    expect((await s.handler(req("/services/llm/ok", payment))).status).toBe(503);
    expect(seen.length).toBe(before);
    s.setResolve({ kind: "settled", transaction: `0x${"ab".repeat(32)}` });
    const landed = await s.handler(req("/services/llm/ok", payment));
    expect(landed.status).toBe(200);
    expect(landed.headers.get("x-payment-response")).toBeTruthy();
    expect((await s.handler(req("/services/llm/ok", payment))).status).toBe(402);
    expect(seen.length).toBe(before + 1);
    expect(s.calls.settle).toBe(1);
  });

  it("a failed settlement answers 402 and an unavailable one 503, neither with the body", async () => {
    for (const [outcome, status] of [[{ kind: "failed", reason: "insufficient_funds", message: "poor" }, 402], [{ kind: "unavailable", message: "down" }, 503]] as const) {
      const response = await setup(outcome).handler(req("/services/llm/ok", await pay()));
      expect(response.status).toBe(status);
      expect(await response.text()).not.toContain("url");
    }
  });
});
