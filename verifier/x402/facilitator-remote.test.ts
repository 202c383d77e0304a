// The remote facilitator client against a scripted facilitator over real HTTP: what it
// sends, and how each kind of answer is classified (above all: only a well-formed refusal
// with a reason that proves nothing moved is "failed"; everything else is unknown).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadlineAfter } from "../../adapters/deadline.ts";
import type { PaymentContext } from "./facilitator.ts";
import { checkFacilitatorUrl, remoteFacilitator } from "./facilitator-remote.ts";
import { decodePaymentHeader } from "./payment-header.ts";
import { pricedRoute, signedPayment } from "../test-support.ts";

type Reply = { status: number; body?: unknown; raw?: string; delayMs?: number };
let answer: (path: string) => Reply;
const received: { path: string; body: Record<string, unknown> }[] = [];
let server: http.Server;
let url = "";

beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    received.push({ path: req.url ?? "", body: JSON.parse(text) });
    const { status, body, raw, delayMs } = answer(req.url ?? "");
    setTimeout(() => (res.writeHead(status, { "content-type": "application/json" }), res.end(raw ?? JSON.stringify(body))), delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

async function context(overrides: Partial<PaymentContext> = {}): Promise<PaymentContext> {
  const decoded = decodePaymentHeader(await signedPayment(), 1);
  if (!decoded.ok) throw new Error(decoded.reason);
  const route = overrides.route ?? pricedRoute();
  return { payment: decoded.payment, route, accept: route.accepts[0]!, resource: "https://shop.example/r/x", deadline: deadlineAfter(2000), signedByPayer: true, ...overrides };
}

const TX = `0x${"ab".repeat(32)}`;

describe("remoteFacilitator", () => {
  it("sends the payment rebuilt from the fields the verifier checked, and nothing else", async () => {
    answer = () => ({ status: 200, body: { isValid: true } });
    const ctx = await context();
    await remoteFacilitator({ url }).verify(ctx);
    const a = ctx.payment.authorization;
    expect(received.at(-1)?.body.paymentPayload).toEqual({
      x402Version: 1, scheme: "exact", network: "base-sepolia",
      payload: { signature: ctx.payment.signature, authorization: { from: a.from, to: a.to, value: "1000", validAfter: String(a.validAfter), validBefore: String(a.validBefore), nonce: a.nonce } },
    });
  });

  it("sends the payment and the v1 requirement with its resource", async () => {
    answer = () => ({ status: 200, body: { isValid: true, payer: "0xabc" } });
    const outcome = await remoteFacilitator({ url }).verify(await context());
    expect(outcome).toEqual({ kind: "valid" });
    expect(received.at(-1)).toMatchObject({
      path: "/verify",
      body: { x402Version: 1, paymentPayload: { x402Version: 1, network: "base-sepolia" }, paymentRequirements: { maxAmountRequired: "1000", resource: "https://shop.example/r/x", asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e" } },
    });
  });

  it.each<[Reply, object]>([
    [{ status: 200, body: { isValid: false, invalidReason: "insufficient_funds" } }, { kind: "invalid", reason: "insufficient_funds" }],
    [{ status: 200, body: { isValid: false, invalidReason: "no\r\nX-Evil: 1".repeat(100) } }, { kind: "invalid", reason: expect.not.stringMatching(/[\r\n]/) }],
    [{ status: 200, body: { isValid: "yes" } }, { kind: "unavailable" }],
    [{ status: 200, raw: "<html>gateway</html>" }, { kind: "unavailable" }],
    [{ status: 500, body: {} }, { kind: "unavailable" }],
    [{ status: 200, body: {}, delayMs: 500 }, { kind: "unavailable" }],
  ])("classifies a verify answer %j", async (reply, expected) => {
    answer = () => reply;
    expect(await remoteFacilitator({ url }).verify(await context({ deadline: deadlineAfter(200) }))).toMatchObject(expected);
  });

  it.each<[Reply, object]>([
    [{ status: 200, body: { success: true, transaction: TX, payer: "0xp" } }, { kind: "settled", transaction: TX }],
    [{ status: 200, body: { success: true, transaction: "0x1\nX-Injected: 1", payer: "evil\n" } }, { kind: "settled", transaction: "" }],
    [{ status: 200, body: { success: false, errorReason: "invalid_exact_evm_signature" } }, { kind: "failed", reason: "invalid_exact_evm_signature" }],
    [{ status: 400, body: { success: false, errorReason: "invalid_exact_evm_insufficient_balance" } }, { kind: "failed" }],
    [{ status: 200, body: { success: false, errorReason: "invalid_exact_evm_nonce_already_used" } }, { kind: "failed" }],
    // what @x402/evm answers when it threw after broadcasting, or its receipt wait timed out
    [{ status: 200, body: { success: false, errorReason: "invalid_exact_evm_transaction_failed", transaction: "" } }, { kind: "unknown" }],
    [{ status: 200, body: { success: false, errorReason: "settlement_pending", transaction: TX } }, { kind: "unknown", transaction: TX }],
    [{ status: 200, body: { success: false, errorReason: "something new" } }, { kind: "unknown" }],
    [{ status: 200, body: { success: false } }, { kind: "unknown" }],
    [{ status: 429, body: { success: false, errorReason: "insufficient_funds" } }, { kind: "unknown" }],
    [{ status: 400, body: { error: "bad request" } }, { kind: "unknown" }],
    [{ status: 200, raw: "<html><body>502 Bad Gateway</body></html>" }, { kind: "unknown" }],
    [{ status: 200, raw: '{"success": fal' }, { kind: "unknown" }],
    [{ status: 502, body: {} }, { kind: "unknown" }],
    [{ status: 200, body: { success: true }, delayMs: 500 }, { kind: "unknown" }],
    [{ status: 200, raw: `{"success":true,"transaction":"${"0".repeat(200_000)}"}` }, { kind: "unknown", message: expect.stringContaining("more than 65536 bytes") }],
  ])("classifies a settle answer %j", async (reply, expected) => {
    answer = () => reply;
    expect(await remoteFacilitator({ url }).settle(await context({ deadline: deadlineAfter(200) }))).toMatchObject(expected);
  });

  it("does not take a used nonce for a definite failure on a retry: the nonce may be our own first attempt", async () => {
    answer = () => ({ status: 200, body: { success: false, errorReason: "invalid_exact_evm_nonce_already_used" } });
    expect(await remoteFacilitator({ url }).settle(await context({ retry: true }))).toMatchObject({ kind: "unknown" });
  });

  const verified = { status: 200, body: { isValid: true } };
  it.each<[Reply, Reply | undefined, object]>([
    // A used nonce may be a cancellation or another transfer: only the chain can tell.
    [{ status: 200, body: { isValid: false, invalidReason: "invalid_exact_evm_nonce_already_used" } }, undefined, { kind: "unknown" }],
    [{ status: 200, body: { isValid: false, invalidReason: "invalid_exact_evm_insufficient_balance" } }, undefined, { kind: "unknown" }],
    [{ status: 502, raw: "down" }, undefined, { kind: "unknown" }],
    [verified, { status: 200, body: { success: true, transaction: TX } }, { kind: "settled", transaction: TX }],
    [verified, { status: 200, body: { success: false, errorReason: "invalid_exact_evm_nonce_already_used" } }, { kind: "unknown" }],
    [verified, { status: 200, body: { success: false, errorReason: "settlement_pending", transaction: TX } }, { kind: "unknown" }],
    [verified, { status: 200, body: { success: false, errorReason: "invalid_exact_evm_insufficient_balance" } }, { kind: "unknown" }],
    [verified, { status: 503, raw: "down" }, { kind: "unknown" }],
  ])("resolves an unknown outcome by asking the facilitator: verify %j, then settle %j", async (verifyReply, settleReply, expected) => {
    const paths: string[] = [];
    answer = (path) => (paths.push(path), path === "/verify" ? verifyReply : settleReply!);
    expect(await remoteFacilitator({ url }).resolve(await context())).toMatchObject(expected);
    expect(paths).toEqual(settleReply ? ["/verify", "/settle"] : ["/verify"]);
  });

  it("requires https except on loopback", () => {
    expect(() => checkFacilitatorUrl("http://facilitator.example.com")).toThrow(/https/);
    expect(checkFacilitatorUrl("https://facilitator.example.com").protocol).toBe("https:");
    expect(checkFacilitatorUrl("http://127.0.0.1:4021").hostname).toBe("127.0.0.1");
    expect(checkFacilitatorUrl("http://localhost:4021").hostname).toBe("localhost");
  });
});
