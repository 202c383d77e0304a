// The decision logic alone, with a scripted facilitator (the real ones are proven in
// tests/interop against a real chain and the official clients).
import { Buffer } from "node:buffer";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import type { Facilitator, SettleOutcome, VerifyOutcome } from "./facilitator.ts";
import { forwardAuth, type VerifierDeps } from "./forward-auth.ts";
import { isPricingError, priceRoute, type PricedRoute } from "./priced-route.ts";
import { memoryReplayGuard } from "./replay-guard.ts";
import { buildRouteTable } from "./route-table.ts";

const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BUYER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const NOW = 1_800_000_000n;

function route(overrides: Record<string, unknown> = {}): PricedRoute {
  const raw = v.parse(PaymentRouteSchema, {
    apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute",
    metadata: { name: "llm-payment", namespace: "shop", annotations: { "obol.org/offer": "shop/llm" } },
    spec: { pattern: "/services/llm/*", price: "0.001", amount: "1000", payTo: PAY_TO, network: "base-sepolia", priceModel: "perRequest", ...overrides },
  });
  const priced = priceRoute(raw, DEFAULT_NETWORKS);
  if (isPricingError(priced)) throw new Error(priced.message);
  return priced;
}

function scripted(verify: VerifyOutcome, settle: SettleOutcome) {
  const calls = { verify: 0, settle: 0 };
  const facilitator: Facilitator = {
    verify: async () => (calls.verify++, verify),
    settle: async () => (calls.settle++, settle),
  };
  return { facilitator, calls };
}

function deps(facilitator: Facilitator, overrides: Partial<VerifierDeps> = {}): VerifierDeps {
  const table = buildRouteTable([{ pattern: "/services/llm/*", value: route() }]);
  const quiet = { info() {}, warn() {}, error() {}, child: () => quiet };
  return {
    routes: () => table, facilitator, guard: memoryReplayGuard(), mode: "settle", nowSeconds: () => NOW,
    upstreamAuthorization: async () => undefined, log: quiet, ...overrides,
  };
}

function v1Header(overrides: Record<string, unknown> = {}, nonce = "0x" + "11".repeat(32)) {
  const authorization = { from: BUYER, to: PAY_TO, value: "1000", validAfter: String(NOW - 60n), validBefore: String(NOW + 300n), nonce, ...overrides };
  const payment = { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: { signature: "0x" + "ab".repeat(65), authorization } };
  return Buffer.from(JSON.stringify(payment)).toString("base64");
}

const request = (headers: Record<string, string>) => (name: string) => headers[name] ?? null;
const paid = (payment: string, extra: Record<string, string> = {}) =>
  request({ "x-forwarded-uri": "/services/llm/v1/chat?x=1", "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com", "x-payment": payment, ...extra });
const valid: VerifyOutcome = { kind: "valid", payer: BUYER };
const settled: SettleOutcome = { kind: "settled", transaction: "0x" + "cd".repeat(32), payer: BUYER };

describe("forwardAuth", () => {
  it("fails closed without X-Forwarded-Uri", async () => {
    expect((await forwardAuth(request({}), deps(scripted(valid, settled).facilitator))).answer.status).toBe(403);
  });

  it("lets a free path through", async () => {
    expect((await forwardAuth(request({ "x-forwarded-uri": "/free" }), deps(scripted(valid, settled).facilitator))).answer.status).toBe(200);
  });

  it("never lets a request through an offer's middleware pass free: an unknown path is charged at that route's price, an unserved route is refused", async () => {
    const priced = route();
    const d = deps(scripted(valid, settled).facilitator, { routeByKey: (key) => (key === priced.key ? priced : undefined) });
    const moved = request({ "x-forwarded-uri": "/services/old-path/x", "x-forwarded-host": "api.example.com" });
    expect((await forwardAuth(moved, d)).answer.status).toBe(200);
    const charged = (await forwardAuth(moved, d, "shop/llm-payment")).answer;
    expect(charged.status).toBe(402);
    expect(JSON.parse(charged.body).accepts[0]).toMatchObject({ maxAmountRequired: "1000", resource: "http://api.example.com/services/old-path/x" });
    const unserved = (await forwardAuth(moved, d, "shop/not-loaded-yet")).answer;
    expect(unserved.status).toBe(503);
    expect(unserved.headers["retry-after"]).toBe("15");
  });

  it("decides the unpaid 402 synchronously, with the same answer for the same resource and a fresh one for another", () => {
    const d = deps(scripted(valid, settled).facilitator);
    const ask = (uri: string) => forwardAuth(request({ "x-forwarded-uri": uri, "x-forwarded-host": "api.example.com" }), d);
    const first = ask("/services/llm/a");
    expect(first).not.toBeInstanceOf(Promise);
    const again = ask("/services/llm/a") as { answer: { body: string } };
    const other = ask("/services/llm/b") as { answer: { body: string } };
    expect(again.answer).toBe((first as { answer: unknown }).answer);
    expect(JSON.parse(other.answer.body).accepts[0].resource).toBe("http://api.example.com/services/llm/b");
    expect(JSON.parse(again.answer.body).accepts[0].resource).toBe("http://api.example.com/services/llm/a");
  });

  it("answers 402 with the v1 body and the v2 header, resource from the forwarded headers", async () => {
    const { answer } = await forwardAuth(request({ "x-forwarded-uri": "/services//llm/./v1?q", "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com" }), deps(scripted(valid, settled).facilitator));
    expect(answer.status).toBe(402);
    const body = JSON.parse(answer.body);
    expect(body).toMatchObject({ x402Version: 1, accepts: [{ scheme: "exact", network: "base-sepolia", maxAmountRequired: "1000", payTo: PAY_TO, resource: "https://api.example.com/services//llm/./v1?q", mimeType: "application/json", asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", extra: { name: "USDC", version: "2" } }] });
    const v2 = JSON.parse(Buffer.from(answer.headers["payment-required"]!, "base64").toString());
    expect(v2).toMatchObject({ x402Version: 2, resource: { url: "https://api.example.com/services//llm/./v1?q" }, accepts: [{ network: "eip155:84532", amount: "1000", payTo: PAY_TO }] });
  });

  it("answers 503 with Retry-After for an unhealthy upstream, before any payment", async () => {
    const { facilitator, calls } = scripted(valid, settled);
    const table = buildRouteTable([{ pattern: "/services/llm/*", value: route({ upstreamHealthy: false }) }]);
    const { answer } = await forwardAuth(paid(v1Header()), deps(facilitator, { routes: () => table }));
    expect(answer.status).toBe(503);
    expect(answer.headers["retry-after"]).toBe("15");
    expect(calls.verify).toBe(0);
  });

  it("refuses a malformed header with 400 and a reason", async () => {
    const { answer } = await forwardAuth(paid("not base64!"), deps(scripted(valid, settled).facilitator));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error).toContain("base64");
  });

  it.each([
    [{ value: "999" }, "invalid_exact_evm_payload_authorization_value"],
    [{ to: BUYER }, "invalid_exact_evm_payload_recipient_mismatch"],
    [{ validBefore: String(NOW + 3n) }, "invalid_exact_evm_payload_authorization_valid_before"],
    [{ validAfter: String(NOW + 100n) }, "invalid_exact_evm_payload_authorization_valid_after"],
  ])("refuses a wrong payment with 402: %o", async (overrides, reason) => {
    const { facilitator, calls } = scripted(valid, settled);
    const { answer } = await forwardAuth(paid(v1Header(overrides)), deps(facilitator));
    expect(answer.status).toBe(402);
    expect(JSON.parse(answer.body).error).toContain(reason);
    expect(calls.verify).toBe(0);
  });

  it("settles a valid payment and hands the upstream the payer, the settlement and its credentials", async () => {
    const { facilitator, calls } = scripted(valid, settled);
    const { answer } = await forwardAuth(paid(v1Header()), deps(facilitator, { upstreamAuthorization: async () => "Bearer sk-1" }));
    expect(answer.status).toBe(200);
    expect(calls).toEqual({ verify: 1, settle: 1 });
    expect(answer.headers["x-payment-payer"]).toBe(BUYER);
    expect(answer.headers.authorization).toBe("Bearer sk-1");
    expect(JSON.parse(Buffer.from(answer.headers["x-payment-response"]!, "base64").toString())).toEqual({ success: true, transaction: settled.transaction, network: "base-sepolia", payer: BUYER });
  });

  it("takes no payment when the upstream credentials cannot be read", async () => {
    const { facilitator, calls } = scripted(valid, settled);
    const { answer } = await forwardAuth(paid(v1Header()), deps(facilitator, { upstreamAuthorization: async () => new Error("secret not found") }));
    expect(answer.status).toBe(503);
    expect(calls.verify).toBe(0);
  });

  it("accepts one of two concurrent uses of the same authorization, and no later one", async () => {
    const d = deps(scripted(valid, settled).facilitator);
    const header = v1Header();
    const answers = await Promise.all([forwardAuth(paid(header), d), forwardAuth(paid(header), d)]);
    expect(answers.map((a) => a.answer.status).sort()).toEqual([200, 402]);
    expect((await forwardAuth(paid(header), d)).answer.status).toBe(402);
  });

  it("refuses reuse in verify-only mode too", async () => {
    const { facilitator, calls } = scripted(valid, settled);
    const d = deps(facilitator, { mode: "verify-only" });
    expect((await forwardAuth(paid(v1Header()), d)).answer.status).toBe(200);
    expect((await forwardAuth(paid(v1Header()), d)).answer.status).toBe(402);
    expect(calls.settle).toBe(0);
  });

  it("answers an unknown settlement outcome with 503, never 402, and keeps answering so while it stays unknown", async () => {
    const d = deps(scripted(valid, { kind: "unknown", message: "receipt timeout", transaction: "0x01" }).facilitator);
    const { answer } = await forwardAuth(paid(v1Header()), d);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body).error).toContain("do not pay again");
    expect((await forwardAuth(paid(v1Header()), d)).answer.status).toBe(503);
  });

  it("serves a retried payment once when the unknown settlement turns out to have landed", async () => {
    const { facilitator, calls } = scripted(valid, { kind: "unknown", message: "receipt timeout", transaction: "0x01" });
    facilitator.resolve = async () => ({ kind: "settled", transaction: "0x01" });
    const d = deps(facilitator);
    expect((await forwardAuth(paid(v1Header()), d)).answer.status).toBe(503);
    const retry = await forwardAuth(paid(v1Header()), d);
    expect(retry.answer.status).toBe(200);
    expect(JSON.parse(Buffer.from(retry.answer.headers["x-payment-response"]!, "base64").toString()).transaction).toBe("0x01");
    expect((await forwardAuth(paid(v1Header()), d)).answer.status).toBe(402);
    expect(calls.settle).toBe(1);
  });

  it("settles again when the unknown settlement turns out not to have landed", async () => {
    const outcomes: SettleOutcome[] = [{ kind: "unknown", message: "rpc reset", transaction: "0x01" }, settled];
    const { facilitator } = scripted(valid, settled);
    facilitator.settle = async () => outcomes.shift()!;
    facilitator.resolve = async () => ({ kind: "not-settled" });
    const d = deps(facilitator);
    expect((await forwardAuth(paid(v1Header()), d)).answer.status).toBe(503);
    expect((await forwardAuth(paid(v1Header()), d)).answer.status).toBe(200);
  });

  it("frees the authorization after a definite settlement failure", async () => {
    const failing = scripted(valid, { kind: "failed", reason: "insufficient_funds", message: "balance too low" });
    const d = deps(failing.facilitator);
    const { answer } = await forwardAuth(paid(v1Header()), d);
    expect(answer.status).toBe(402);
    expect(JSON.parse(answer.body).error).toContain("insufficient_funds");
    await forwardAuth(paid(v1Header()), d);
    expect(failing.calls.verify).toBe(2);
  });

  it("answers 503 when the facilitator cannot verify, and takes nothing", async () => {
    const { answer } = await forwardAuth(paid(v1Header()), deps(scripted({ kind: "unavailable", message: "rpc down" }, settled).facilitator));
    expect(answer.status).toBe(503);
  });
});
