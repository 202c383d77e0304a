// Attacks with permits that do not pay the route and with malformed or oversized payments:
// refused with 402 or 400 before any facilitator call, never a crash.
import { describe, expect, it } from "vitest";
import { EXACT_PERMIT2_PROXY_ADDRESS, PERMIT2_ADDRESS } from "../core/permit2.ts";
import { forwardAuth } from "./forward-auth.ts";
import { BUYER, NOW, PAY_TO, paidRequestV2, signedPermit2Payment, verifierDeps } from "./test-support.ts";
import { decode, encode, errorOf, only, OTHER_PAYEE, recording, shop, UPTO_PROXY } from "./asset-attacks-support.ts";

describe("permits that do not pay this route", () => {
  it.each([
    ["spender = the upto proxy", { spender: UPTO_PROXY }, "invalid_permit2_spender"],
    ["spender = Permit2 itself", { spender: PERMIT2_ADDRESS }, "invalid_permit2_spender"],
    ["spender = the payee", { spender: PAY_TO }, "invalid_permit2_spender"],
    ["witness.to = someone else", { to: OTHER_PAYEE }, "recipient_mismatch"],
    ["witness.to = the exact proxy", { to: EXACT_PERMIT2_PROXY_ADDRESS }, "recipient_mismatch"],
    ["deadline far in the future", { deadline: (2n ** 255n).toString() }, "valid_before"],
    ["deadline 2^256 - 1", { deadline: (2n ** 256n - 1n).toString() }, "valid_before"],
    ["deadline already past", { deadline: String(NOW - 1n) }, "valid_before"],
    ["validAfter in the future", { validAfter: String(NOW + 1n) }, "valid_after"],
    ["validAfter 2^256 - 1", { validAfter: (2n ** 256n - 1n).toString() }, "valid_after"],
    ["amount 2^256 - 1", { amount: (2n ** 256n - 1n).toString() }, "authorization_value"],
    ["amount one unit above the price", { amount: "10000000000000001" }, "authorization_value"],
    ["amount zero", { amount: "0" }, "authorization_value"],
  ])("refuses a permit with %s, with 402 and no facilitator call", async (_, overrides, reason) => {
    const r = only(shop(), 1);
    const { facilitator, calls } = recording();
    const { answer } = await forwardAuth(paidRequestV2(await signedPermit2Payment(r, overrides)), verifierDeps(facilitator, {}, r));
    expect(answer.status).toBe(402);
    expect(errorOf(answer)).toContain(reason);
    expect(calls.verify).toBe(0);
  });

  it("accepts a deadline at the very end of the allowed window and refuses one a second later", async () => {
    const r = only(shop(), 1);
    const last = NOW + 300n + 600n;
    const ok = await forwardAuth(paidRequestV2(await signedPermit2Payment(r, { deadline: String(last), nonce: "1" })), verifierDeps(recording().facilitator, {}, r));
    expect(ok.answer.status).toBe(200);
    const late = await forwardAuth(paidRequestV2(await signedPermit2Payment(r, { deadline: String(last + 1n), nonce: "2" })), verifierDeps(recording().facilitator, {}, r));
    expect(late.answer.status).toBe(402);
  });
});

describe("malformed and oversized payments", () => {
  const route = () => only(shop(), 1);
  async function statusFor(mutate: (body: Record<string, any>) => unknown) {
    const r = route();
    const body = decode(await signedPermit2Payment(r));
    const mutated = mutate(body) ?? body;
    const { facilitator, calls } = recording();
    const { answer } = await forwardAuth(paidRequestV2(typeof mutated === "string" ? encode(mutated) : encode(mutated)), verifierDeps(facilitator, {}, r));
    return { status: answer.status, verified: calls.verify };
  }

  it.each<[string, (b: Record<string, any>) => unknown]>([
    ["an amount of 2^256 (79 digits)", (b) => void (b.payload.permit2Authorization.permitted.amount = (2n ** 256n).toString())],
    ["an amount of 78 nines", (b) => void (b.payload.permit2Authorization.permitted.amount = "9".repeat(78))],
    ["a deadline of 78 nines", (b) => void (b.payload.permit2Authorization.deadline = "9".repeat(78))],
    ["a nonce of 2^256", (b) => void (b.payload.permit2Authorization.nonce = (2n ** 256n).toString())],
    ["a negative amount", (b) => void (b.payload.permit2Authorization.permitted.amount = "-1")],
    ["a hex amount", (b) => void (b.payload.permit2Authorization.permitted.amount = "0x10")],
    ["an amount in exponent form", (b) => void (b.payload.permit2Authorization.permitted.amount = "1e16")],
    ["a numeric amount", (b) => void (b.payload.permit2Authorization.permitted.amount = 10000000000000000)],
    ["an extra field in the permit", (b) => void (b.payload.permit2Authorization.permitted.decimals = 6)],
    ["an extra field in the witness", (b) => void (b.payload.permit2Authorization.witness.facilitator = PAY_TO)],
    ["both an EIP-3009 and a Permit2 authorization", (b) => void (b.payload.authorization = { from: BUYER, to: PAY_TO, value: "1", validAfter: "0", validBefore: "1", nonce: `0x${"0".repeat(64)}` })],
    ["a payload that is an array", (b) => void (b.payload = [b.payload])],
    ["accepted that is a string", (b) => void (b.accepted = "exact")],
    ["a short token address", (b) => void (b.payload.permit2Authorization.permitted.token = "0x1234")],
    ["an x402Version of 3", (b) => void (b.x402Version = 3)],
    ["x402Version as a string", (b) => void (b.x402Version = "2")],
  ])("refuses %s with 400 or 402, never a crash, before any facilitator call", async (_, mutate) => {
    const { status, verified } = await statusFor(mutate);
    expect([400, 402]).toContain(status);
    expect(verified).toBe(0);
  });

  it.each<[string, (b: Record<string, any>) => unknown]>([
    ["an extra field in accepted", (b) => void (b.accepted.note = "cheaper please")],
    ["a lowercased asset in accepted", (b) => void (b.accepted.asset = String(b.accepted.asset).toLowerCase())],
    ["the amount in accepted as a number", (b) => void (b.accepted.amount = Number(b.accepted.amount))],
    ["a __proto__ key in accepted carrying the real terms", (b) => {
      const fake = { ...b.accepted, amount: "1" };
      return JSON.stringify(b).replace(JSON.stringify(b.accepted), `${JSON.stringify(fake).slice(0, -1)},"__proto__":${JSON.stringify(b.accepted)}}`);
    }],
    ["accepted nested 2500 levels deep", (b) => {
      let deep = "1";
      for (let i = 0; i < 2500; i++) deep = `[${deep}]`;
      return JSON.stringify(b).replace(`"extra":`, `"deep":${deep},"extra":`);
    }],
  ])("refuses %s as an accept this route does not offer (402), never a crash", async (_, mutate) => {
    const { status, verified } = await statusFor(mutate);
    expect(status).toBe(402);
    expect(verified).toBe(0);
  });

  it("reads duplicate keys as JSON does (the last wins) and sends the facilitator exactly what was checked", async () => {
    const r = route();
    const body = decode(await signedPermit2Payment(r));
    const price = body.payload.permit2Authorization.permitted.amount;
    const text = JSON.stringify(body);
    // The cheap amount last: refused.
    const cheapLast = text.replace(`"amount":"${price}"}`, `"amount":"${price}","amount":"1"}`);
    const f1 = recording();
    expect((await forwardAuth(paidRequestV2(encode(cheapLast)), verifierDeps(f1.facilitator, {}, r))).answer.status).toBe(402);
    // The cheap amount first, the price last: the price is what is checked, signed and settled.
    const priceLast = text.replace(`"amount":"${price}"}`, `"amount":"1","amount":"${price}"}`);
    const f2 = recording();
    const { answer } = await forwardAuth(paidRequestV2(encode(priceLast)), verifierDeps(f2.facilitator, {}, r));
    expect(answer.status).toBe(200);
    expect(f2.settled[0]!.payment.authorization.value).toBe(r.accepts[0]!.amount);
  });
});

