// The remote facilitator client against a scripted facilitator over real HTTP: what it
// sends, and how each kind of answer is classified (above all: unknown is never "failed").
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import type { PaymentContext } from "./facilitator.ts";
import { checkFacilitatorUrl, remoteFacilitator } from "./facilitator-remote.ts";
import { decodePaymentHeader } from "./payment-header.ts";
import { isPricingError, priceRoute } from "./priced-route.ts";

let answer: (path: string) => { status: number; body: unknown; delayMs?: number };
const received: { path: string; body: Record<string, unknown> }[] = [];
let server: http.Server;
let url = "";

beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    received.push({ path: req.url ?? "", body: JSON.parse(text) });
    const { status, body, delayMs } = answer(req.url ?? "");
    setTimeout(() => (res.writeHead(status, { "content-type": "application/json" }), res.end(JSON.stringify(body))), delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

function context(): PaymentContext {
  const route = priceRoute(v.parse(PaymentRouteSchema, {
    apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "r", namespace: "n" },
    spec: { pattern: "/r/*", price: "0.001", amount: "1000", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base-sepolia", priceModel: "perRequest" },
  }), DEFAULT_NETWORKS);
  if (isPricingError(route)) throw new Error("bad route");
  const header = Buffer.from(JSON.stringify({
    x402Version: 1, scheme: "exact", network: "base-sepolia",
    payload: { signature: `0x${"ab".repeat(65)}`, authorization: { from: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", value: "1000", validAfter: "0", validBefore: "9999999999", nonce: `0x${"01".repeat(32)}` } },
  })).toString("base64");
  const decoded = decodePaymentHeader(header, 1);
  if (!decoded.ok) throw new Error(decoded.reason);
  return { payment: decoded.payment, route, resource: "https://shop.example/r/x" };
}

describe("remoteFacilitator", () => {
  it("sends the payment and the v1 requirement with its resource", async () => {
    answer = () => ({ status: 200, body: { isValid: true, payer: "0xabc" } });
    expect(await remoteFacilitator({ url }).verify(context())).toEqual({ kind: "valid", payer: "0xabc" });
    expect(received.at(-1)).toMatchObject({
      path: "/verify",
      body: { x402Version: 1, paymentPayload: { x402Version: 1, network: "base-sepolia" }, paymentRequirements: { maxAmountRequired: "1000", resource: "https://shop.example/r/x", asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e" } },
    });
  });

  it.each([
    [{ status: 200, body: { isValid: false, invalidReason: "insufficient_funds" } }, { kind: "invalid", reason: "insufficient_funds" }],
    [{ status: 500, body: {} }, { kind: "unavailable" }],
    [{ status: 200, body: {}, delayMs: 500 }, { kind: "unavailable" }],
  ])("classifies a verify answer %j", async (reply, expected) => {
    answer = () => reply;
    expect(await remoteFacilitator({ url, verifyTimeoutMs: 200 }).verify(context())).toMatchObject(expected);
  });

  it.each([
    [{ status: 200, body: { success: true, transaction: "0x1", payer: "0xp" } }, { kind: "settled", transaction: "0x1" }],
    [{ status: 200, body: { success: false, errorReason: "invalid_signature" } }, { kind: "failed", reason: "invalid_signature" }],
    [{ status: 200, body: { success: false, errorReason: "transaction_failed", transaction: "0x2" } }, { kind: "unknown", transaction: "0x2" }],
    [{ status: 200, body: { success: false, errorReason: "settlement_pending" } }, { kind: "unknown" }],
    [{ status: 400, body: { error: "bad request" } }, { kind: "failed" }],
    [{ status: 502, body: {} }, { kind: "unknown" }],
    [{ status: 200, body: {}, delayMs: 500 }, { kind: "unknown" }],
  ])("classifies a settle answer %j", async (reply, expected) => {
    answer = () => reply;
    expect(await remoteFacilitator({ url, settleTimeoutMs: 200 }).settle(context())).toMatchObject(expected);
  });

  it("requires https except on loopback", () => {
    expect(() => checkFacilitatorUrl("http://facilitator.example.com")).toThrow(/https/);
    expect(checkFacilitatorUrl("https://facilitator.example.com").protocol).toBe("https:");
    expect(checkFacilitatorUrl("http://127.0.0.1:4021").hostname).toBe("127.0.0.1");
    expect(checkFacilitatorUrl("http://localhost:4021").hostname).toBe("localhost");
  });
});
