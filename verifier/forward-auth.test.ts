// The request-level decision: which route a request belongs to, and the answers that need
// no payment. Payments themselves: paid-request.test.ts.
import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { forwardAuth } from "./forward-auth.ts";
import { buildRouteTable } from "./routes/table.ts";
import { PAY_TO, pricedRoute, request, scripted, SETTLED, VALID, verifierDeps } from "./test-support.ts";

const deps = (overrides: Parameters<typeof verifierDeps>[1] = {}) => verifierDeps(scripted(VALID, SETTLED).facilitator, overrides);

describe("forwardAuth", () => {
  it("fails closed without X-Forwarded-Uri", async () => {
    expect((await forwardAuth(request({}), deps())).answer.status).toBe(403);
  });

  it("lets a free path through once routes are loaded, and refuses everything before", async () => {
    expect((await forwardAuth(request({ "x-forwarded-uri": "/free" }), deps())).answer.status).toBe(200);
    const loading = (await forwardAuth(request({ "x-forwarded-uri": "/free" }), deps({ ready: () => false }))).answer;
    expect(loading.status).toBe(503);
    expect(loading.headers["retry-after"]).toBe("15");
  });

  it.each([
    ["/api/premium/..%5C..%5Cfree", 400],
    ["/services/llm/%2e%2e/%2e%2e/free", 400],
    ["/services/llm%2Ffree", 400],
    [`/services/llm/${"x".repeat(9000)}`, 414],
  ])("refuses a path Traefik and we could read differently: %s -> %i", async (uri, status) => {
    expect((await forwardAuth(request({ "x-forwarded-uri": uri }), deps())).answer.status).toBe(status);
  });

  it("prices a request that came through an offer's middleware by that route alone, whatever a more specific route elsewhere says", async () => {
    const victim = pricedRoute({ pattern: "/services/a/*", price: "0.5" }, { name: "a-payment", namespace: "victim" });
    const attacker = pricedRoute({ pattern: "/services/a/v1/*", price: "0.000001", payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" }, { name: "evil", namespace: "zzz" });
    const table = buildRouteTable([{ pattern: victim.pattern, value: victim }, { pattern: attacker.pattern, value: attacker }]);
    const d = deps({ routes: () => table, routeByKey: (key) => [victim, attacker].find((r) => r.key === key) });
    const ask = { "x-forwarded-uri": "/services/a/v1/chat", "x-forwarded-host": "api.example.com" };
    const through = (await forwardAuth(request(ask), d, "victim/a-payment")).answer;
    expect(JSON.parse(through.body).accepts[0]).toMatchObject({ maxAmountRequired: "500000", payTo: PAY_TO });
    // Without a named route (a routes file, a hand-made Middleware), the most specific pattern decides.
    expect(JSON.parse((await forwardAuth(request(ask), d)).answer.body).accepts[0].maxAmountRequired).toBe("1");
  });

  it("never lets a request through an offer's middleware pass free: an unknown path is charged at that route's price, an unserved route is refused", async () => {
    const d = deps();
    const moved = request({ "x-forwarded-uri": "/services/old-path/x", "x-forwarded-host": "api.example.com" });
    expect((await forwardAuth(moved, d)).answer.status).toBe(200);
    const charged = (await forwardAuth(moved, d, "shop/llm-payment")).answer;
    expect(charged.status).toBe(402);
    expect(JSON.parse(charged.body).accepts[0]).toMatchObject({ maxAmountRequired: "1000", resource: "http://api.example.com/services/old-path/x" });
    const unserved = (await forwardAuth(moved, d, "shop/not-loaded-yet")).answer;
    expect(unserved.status).toBe(503);
    expect(unserved.headers["retry-after"]).toBe("15");
  });

  it("lets a browser's CORS preflight through to the upstream, and prices any other OPTIONS", async () => {
    const preflight = { "x-forwarded-uri": "/services/llm/v1/chat", "x-forwarded-method": "OPTIONS", origin: "https://app.example", "access-control-request-method": "POST" };
    expect((await forwardAuth(request(preflight), deps())).answer).toEqual({ status: 200, headers: {}, body: "" });
    expect((await forwardAuth(request({ ...preflight, "access-control-request-method": "" }), deps())).answer.status).toBe(200);
    const { "access-control-request-method": _, ...plainOptions } = preflight;
    expect((await forwardAuth(request(plainOptions), deps())).answer.status).toBe(402);
    expect((await forwardAuth(request({ ...preflight, "x-forwarded-method": "GET" }), deps())).answer.status).toBe(402);
  });

  it("decides the unpaid 402 synchronously, with the same answer for the same resource and a fresh one for another", () => {
    const d = deps();
    const ask = (uri: string) => forwardAuth(request({ "x-forwarded-uri": uri, "x-forwarded-host": "api.example.com" }), d);
    const first = ask("/services/llm/a");
    expect(first).not.toBeInstanceOf(Promise);
    const again = ask("/services/llm/a") as { answer: { body: string } };
    const other = ask("/services/llm/b") as { answer: { body: string } };
    expect(again.answer).toBe((first as { answer: unknown }).answer);
    expect(JSON.parse(other.answer.body).accepts[0].resource).toBe("http://api.example.com/services/llm/b");
  });

  it("answers 402 with the v1 body and the v2 header, resource from the forwarded headers", async () => {
    const { answer } = await forwardAuth(request({ "x-forwarded-uri": "/services/llm/v1?q", "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com" }), deps());
    expect(answer.status).toBe(402);
    const body = JSON.parse(answer.body);
    expect(body).toMatchObject({ x402Version: 1, accepts: [{ scheme: "exact", network: "base-sepolia", maxAmountRequired: "1000", payTo: PAY_TO, resource: "https://api.example.com/services/llm/v1?q", mimeType: "application/json", asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", extra: { name: "USDC", version: "2" } }] });
    const v2 = JSON.parse(Buffer.from(answer.headers["payment-required"]!, "base64").toString());
    expect(v2).toMatchObject({ x402Version: 2, resource: { url: "https://api.example.com/services/llm/v1?q" }, accepts: [{ network: "eip155:84532", amount: "1000", payTo: PAY_TO }] });
  });

  it("answers 503 with Retry-After for an unhealthy upstream, before any payment", async () => {
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const route = pricedRoute({ upstreamHealthy: false });
    const table = buildRouteTable([{ pattern: route.pattern, value: route }]);
    const { answer } = await forwardAuth(request({ "x-forwarded-uri": "/services/llm/x", "x-payment": "e30=" }), verifierDeps(facilitator, { routes: () => table }));
    expect(answer.status).toBe(503);
    expect(answer.headers["retry-after"]).toBe("15");
    expect(calls.verify).toBe(0);
  });
});
