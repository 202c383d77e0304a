import { describe, expect, it } from "vitest";
import { decodePaymentHeader, MAX_PAYMENT_HEADER_LENGTH } from "./payment-header.ts";

const authorization = { from: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", value: "1000", validAfter: "0", validBefore: "1900000000", nonce: `0x${"0a".repeat(32)}` };
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");
const v1 = { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: { signature: `0x${"ab".repeat(65)}`, authorization } };
const v2 = { x402Version: 2, accepted: { scheme: "exact", network: "eip155:84532", amount: "1000" }, payload: v1.payload, resource: { url: "x" } };

describe("decodePaymentHeader", () => {
  it("reads a v1 X-PAYMENT header", () => {
    const result = decodePaymentHeader(encode(v1), 1);
    expect(result.ok && result.payment).toMatchObject({ version: 1, scheme: "exact", network: "base-sepolia", authorization: { value: 1000n, validBefore: 1900000000n } });
  });

  it("reads a v2 PAYMENT-SIGNATURE header, network from what was accepted", () => {
    const result = decodePaymentHeader(encode(v2), 2);
    expect(result.ok && result.payment).toMatchObject({ version: 2, network: "eip155:84532", accepted: v2.accepted });
  });

  it.each([
    ["not base64", "%%%", "not base64"],
    ["base64 of text", Buffer.from("hello").toString("base64"), "not base64-encoded JSON"],
    ["a number", encode(5), "invalid payment payload"],
    ["a missing nonce", encode({ ...v1, payload: { ...v1.payload, authorization: { ...authorization, nonce: undefined } } }), "payment.payload.authorization.nonce"],
    ["a value that is a number", encode({ ...v1, payload: { ...v1.payload, authorization: { ...authorization, value: 1000 } } }), "payment.payload.authorization.value"],
    ["a 79-digit value", encode({ ...v1, payload: { ...v1.payload, authorization: { ...authorization, value: "9".repeat(79) } } }), "payment.payload.authorization.value"],
    ["an unknown version", encode({ ...v1, x402Version: 3 }), "invalid payment payload"],
    ["a huge header", "A".repeat(MAX_PAYMENT_HEADER_LENGTH + 1), "longer than"],
  ])("refuses %s with a reason", (_name, header, reason) => {
    const result = decodePaymentHeader(header, 1);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it("refuses a v2 payload in the v1 header", () => {
    expect(decodePaymentHeader(encode(v2), 1)).toEqual({ ok: false, reason: "x402Version 2 sent in the x402 v1 header" });
  });
});
