// Payments in a token paid through Permit2 (an OBOL-like 18-decimal token), through the
// decision logic with a scripted facilitator: what the 402 offers, which payments are
// refused before any facilitator call, and that a Permit2 nonce pays once whatever the token.
// The real facilitators are proven against a real chain in verifier/x402 and tests/interop.
import { Buffer } from "node:buffer";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { forwardAuth } from "./forward-auth.ts";
import { BUYER, NOW, OBOL, OBOL_ASSET, paidRequestV2, pricedRoute, request, scripted, SETTLED, signedPayment, signedPermit2Payment, VALID, verifierDeps, paidRequest } from "./test-support.ts";

const STRANGER = privateKeyToAccount("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");
const obolRoute = () => pricedRoute({ price: "0.001", asset: OBOL_ASSET });
const decode = (header: string) => JSON.parse(Buffer.from(header, "base64").toString("utf8"));

describe("a route priced in a Permit2 token", () => {
  it("asks x402 v2 buyers for the price in the token's own decimals through Permit2, and v1 buyers for nothing they cannot pay", async () => {
    const route = obolRoute();
    const { answer } = await forwardAuth(request({ "x-forwarded-uri": "/services/llm/x", "x-forwarded-host": "api.example.com" }), verifierDeps(scripted(VALID, SETTLED).facilitator, {}, route));
    expect(answer.status).toBe(402);
    expect(JSON.parse(answer.body).accepts).toEqual([]);
    const [accept] = decode(answer.headers["payment-required"]!).accepts;
    expect(accept).toEqual({
      scheme: "exact", network: "eip155:84532", amount: "1000000000000000", asset: OBOL, payTo: route.accepts[0]!.payTo, maxTimeoutSeconds: 300,
      extra: { assetTransferMethod: "permit2" },
    });
  });

  it("lets a valid Permit2 payment through once, settled, with the receipt naming the payer", async () => {
    const route = obolRoute();
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const deps = verifierDeps(facilitator, {}, route);
    const header = await signedPermit2Payment(route);
    const first = await forwardAuth(paidRequestV2(header), deps);
    expect(first.answer.status).toBe(200);
    expect(first.answer.headers["x-payment-payer"]).toBe(BUYER);
    expect(decode(first.answer.headers["x-payment-response"]!)).toMatchObject({ success: true, network: "eip155:84532", payer: BUYER });
    expect((await forwardAuth(paidRequestV2(header), deps)).answer.status).toBe(402);
    expect(calls.settle).toBe(1);
  });

  it.each([
    [{ spender: "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002" }, "invalid_permit2_spender"],
    [{ token: "0x036CbD53842c5426634e7929541eC2318f3dCF7e" }, "permit2_token_mismatch"],
    [{ amount: "999999999999999" }, "invalid_exact_evm_payload_authorization_value"],
    [{ to: BUYER }, "invalid_exact_evm_payload_recipient_mismatch"],
    [{ deadline: String(NOW + 3n) }, "invalid_exact_evm_payload_authorization_valid_before"],
    [{ deadline: String(NOW + 100_000n) }, "invalid_exact_evm_payload_authorization_valid_before"],
    [{ validAfter: String(NOW + 100n) }, "invalid_exact_evm_payload_authorization_valid_after"],
  ])("refuses a permit that does not pay this route, before any facilitator call: %o", async (overrides, reason) => {
    const route = obolRoute();
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const { answer } = await forwardAuth(paidRequestV2(await signedPermit2Payment(route, overrides)), verifierDeps(facilitator, {}, route));
    expect(answer.status).toBe(402);
    expect(decode(answer.headers["payment-required"]!).error).toContain(reason);
    expect(calls.verify).toBe(0);
  });

  it("refuses a permit signed by anyone but the owner", async () => {
    const route = obolRoute();
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const { answer } = await forwardAuth(paidRequestV2(await signedPermit2Payment(route, {}, { signer: STRANGER })), verifierDeps(facilitator, {}, route));
    expect(answer.status).toBe(402);
    expect(decode(answer.headers["payment-required"]!).error).toContain("invalid_exact_evm_payload_signature");
    expect(calls.verify).toBe(0);
  });

  it("refuses a permit whose signed terms differ from those sent (the signature no longer recovers to the owner)", async () => {
    const route = obolRoute();
    const header = decode(await signedPermit2Payment(route, { nonce: "5" }));
    header.payload.permit2Authorization.nonce = "6";
    const { facilitator } = scripted(VALID, SETTLED);
    const { answer } = await forwardAuth(paidRequestV2(Buffer.from(JSON.stringify(header)).toString("base64")), verifierDeps(facilitator, {}, route));
    expect(answer.status).toBe(402);
  });

  it("refuses to be paid in USDC by EIP-3009 what is priced in OBOL, and in OBOL what is priced in USDC", async () => {
    const { facilitator, calls } = scripted(VALID, SETTLED);
    // An EIP-3009 USDC authorization, in x402 v1, to an OBOL route: v1 cannot pay it at all.
    const v1 = await forwardAuth(paidRequest(await signedPayment()), verifierDeps(facilitator, {}, obolRoute()));
    expect(v1.answer.status).toBe(402);
    expect(JSON.parse(v1.answer.body).error).toContain("invalid_network");
    // A Permit2 payment claiming the USDC route's terms, or its own, to a USDC route.
    const usdc = pricedRoute();
    for (const accepted of [usdc.accepts[0]!.v2Requirement, obolRoute().accepts[0]!.v2Requirement]) {
      const { answer } = await forwardAuth(paidRequestV2(await signedPermit2Payment(obolRoute(), {}, { accepted })), verifierDeps(facilitator, {}, usdc));
      expect(answer.status).toBe(402);
    }
    expect(calls.verify).toBe(0);
  });

  it("holds one Permit2 nonce once for an owner, across tokens: a second payment reusing it waits, never both settle", async () => {
    let release!: () => void;
    const settling = new Promise<void>((r) => (release = r));
    const { facilitator, calls } = scripted(VALID, async () => (await settling, SETTLED));
    const route = obolRoute();
    const deps = verifierDeps(facilitator, {}, route);
    const first = forwardAuth(paidRequestV2(await signedPermit2Payment(route, { nonce: "900" })), deps);
    await new Promise((r) => setTimeout(r, 20));
    // The same nonce, another deadline: another signature, the same Permit2 nonce.
    const second = await forwardAuth(paidRequestV2(await signedPermit2Payment(route, { nonce: "900", deadline: String(NOW + 200n) })), deps);
    expect(second.answer.status).toBe(503);
    release();
    expect((await first).answer.status).toBe(200);
    expect(calls.settle).toBe(1);
  });

  it("refuses Permit2 payloads in x402 v1 and payloads carrying fields it does not check, with 400", async () => {
    const route = obolRoute();
    const header = decode(await signedPermit2Payment(route));
    const v1 = { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: header.payload };
    const deps = verifierDeps(scripted(VALID, SETTLED).facilitator, {}, route);
    const v1Answer = await forwardAuth(paidRequest(Buffer.from(JSON.stringify(v1)).toString("base64")), deps);
    expect(v1Answer.answer.status).toBe(400);
    header.payload.permit2Authorization.witness.extra = "unchecked";
    expect((await forwardAuth(paidRequestV2(Buffer.from(JSON.stringify(header)).toString("base64")), deps)).answer.status).toBe(400);
    // upto's witness field on an exact permit: refused as not this route's terms.
    header.payload.permit2Authorization.witness = { to: route.accepts[0]!.payTo, validAfter: "0", facilitator: BUYER };
    const withFacilitator = await forwardAuth(paidRequestV2(Buffer.from(JSON.stringify(header)).toString("base64")), deps);
    expect(withFacilitator.answer.status).toBe(402);
    header.payload.permit2Authorization.witness = { to: route.accepts[0]!.payTo, validAfter: "0" };
    header.payload.permit2Authorization.nonce = (2n ** 256n).toString();
    expect((await forwardAuth(paidRequestV2(Buffer.from(JSON.stringify(header)).toString("base64")), deps)).answer.status).toBe(400);
  });
});
