// Deno's fast path for /verify must answer exactly as the app does, and leave every other
// path to the app.
import { describe, expect, it } from "vitest";
import { type AppDeps, verifierApp, verifyFetchFastPath } from "./app.ts";
import { verifierMetrics } from "./metrics.ts";
import { quiet, scripted, SETTLED, signedPayment, VALID, verifierDeps } from "./test-support.ts";

const deps = (): AppDeps => ({ ...verifierDeps(scripted(VALID, SETTLED).facilitator), metrics: verifierMetrics(), log: quiet, ready: () => true });
const forwarded = { "x-forwarded-uri": "/services/llm/v1/chat", "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com" };
const snapshot = async (response: Response) => ({ status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() });

describe("verifyFetchFastPath", () => {
  it.each([
    ["/verify", forwarded],
    ["/verify?route=shop%2Fllm-payment", forwarded],
    ["/verify?route=zzz%2Fabsent", forwarded],
    ["/verify", { ...forwarded, "x-forwarded-uri": "/free/path" }],
    ["/verify", { ...forwarded, "x-forwarded-uri": "/services/llm/%2e%2e/x" }],
    ["/verify", { ...forwarded, "x-payment": "not base64 at all!" }],
  ])("answers %s as the app does", async (target, headers) => {
    const shared = deps();
    const viaApp = await snapshot(await verifierApp(shared).fetch(new Request(`http://127.0.0.1:8080${target}`, { headers })));
    const fast = verifyFetchFastPath(shared)(new Request(`http://127.0.0.1:8080${target}`, { headers }));
    expect(fast).toBeDefined();
    expect(await snapshot(await fast!)).toEqual(viaApp);
  });

  it("answers a repeated unpaid request from its prepared response, the same bytes every time", async () => {
    const shared = deps();
    const fast = verifyFetchFastPath(shared);
    const ask = () => fast(new Request("http://127.0.0.1:8080/verify", { headers: forwarded }))!;
    const first = await snapshot(await ask());
    expect(first.status).toBe(402);
    for (let i = 0; i < 3; i++) expect(await snapshot(await ask())).toEqual(first);
    expect(await snapshot(await verifierApp(shared).fetch(new Request("http://127.0.0.1:8080/verify", { headers: forwarded })))).toEqual(first);
  });

  it("answers a paid request (settled) as the app does, with the same receipt headers", async () => {
    const headers = { ...forwarded, "x-payment": await signedPayment() };
    const viaApp = await snapshot(await verifierApp(deps()).fetch(new Request("http://127.0.0.1:8080/verify", { headers })));
    const fast = await verifyFetchFastPath(deps())(new Request("http://127.0.0.1:8080/verify", { headers }))!;
    expect(viaApp.status).toBe(200);
    expect(await snapshot(fast)).toEqual(viaApp);
  });

  it.each(["/healthz", "/readyz", "/metrics", "/verify/", "/verifyx", "/x/verify", "/"])("leaves %s to the app", (target) => {
    expect(verifyFetchFastPath(deps())(new Request(`http://127.0.0.1:8080${target}`))).toBeUndefined();
  });
});

describe("/.well-known/x402", () => {
  it("lists the admitted routes under the buyer's host, and says 503 until the first route table is loaded", async () => {
    const shared = deps();
    const route = shared.routeByKey!("shop/llm-payment")!;
    const app = verifierApp({ ...shared, discoverable: () => [route] });
    const listed = await app.fetch(new Request("http://10.0.0.7:8080/.well-known/x402", { headers: { "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com" } }));
    expect(listed.status).toBe(200);
    const doc = await listed.json();
    expect(doc.items.map((item: { resource: string }) => item.resource)).toEqual(["https://api.example.com/services/llm/"]);
    const early = await verifierApp({ ...shared, ready: () => false }).fetch(new Request("http://10.0.0.7:8080/.well-known/x402"));
    expect(early.status).toBe(503);
    expect(early.headers.get("retry-after")).toBeTruthy();
  });
});

describe("/.well-known/agent-registration.json", () => {
  it("answers a host that is no host with 400, never 500; an unknown agent with 404", async () => {
    const app = verifierApp({ ...deps(), discoverable: () => [] });
    for (const host of ["seller.example:99999", "a b", "[", "%"]) {
      const answer = await app.fetch(new Request("http://10.0.0.7:8080/.well-known/agent-registration.json", { headers: { "x-forwarded-host": host } }));
      expect(answer.status).toBe(400);
    }
    const proto = await app.fetch(new Request("http://10.0.0.7:8080/.well-known/agent-registration.json", { headers: { "x-forwarded-proto": "http:", "x-forwarded-host": "seller.example" } }));
    expect([200, 400]).toContain(proto.status);
    expect((await app.fetch(new Request("http://10.0.0.7:8080/.well-known/agent-registration.json?agent=shop/none"))).status).toBe(404);
    expect((await app.fetch(new Request("http://10.0.0.7:8080/.well-known/agent-registration.json", { headers: { "x-forwarded-host": "seller.example" } }))).status).toBe(200);
  });
});
