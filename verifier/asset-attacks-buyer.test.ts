// Attacks by a cheating buyer on payments in other tokens and on routes with several accepts:
// paying one accept while naming another, mixing accepts' terms, and reusing a permit or an
// authorization across tokens, accepts and routes. Each asserts the safe outcome.
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { forwardAuth } from "./forward-auth.ts";
import { memoryReplayGuard } from "./replay-guard.ts";
import { BUYER, OBOL, OBOL_ASSET, PAY_TO, paidRequest, paidRequestV2, pricedRoute, SETTLED, signedPermit2Payment, VALID, verifierDeps } from "./test-support.ts";
import { decode, encode, errorOf, EURC, only, OTHER_PAYEE, recording, shop, signedEip3009V2, TKN, USDC } from "./asset-attacks-support.ts";

describe("a cheating buyer on a route with several accepts", () => {
  it("cannot pay the cheap USDC amount while naming the expensive OBOL accept, nor OBOL's amount in USDC by Permit2", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const deps = verifierDeps(facilitator, {}, r);
    const obol = r.accepts[1]!.v2Requirement;
    // A permit for OBOL at USDC's amount, naming OBOL.
    const cheap = await forwardAuth(paidRequestV2(await signedPermit2Payment(only(r, 1), { amount: "1000" }, { accepted: obol })), deps);
    expect(cheap.answer.status).toBe(402);
    expect(errorOf(cheap.answer)).toContain("invalid_exact_evm_payload_authorization_value");
    // A permit for USDC (10^16 units: OBOL's amount), naming OBOL.
    const swapped = await forwardAuth(paidRequestV2(await signedPermit2Payment(only(r, 1), { token: USDC }, { accepted: obol })), deps);
    expect(errorOf(swapped.answer)).toContain("permit2_token_mismatch");
    // A permit for TKN (0.5 TKN is the price there) presented under OBOL's accept at OBOL's amount.
    const otherPermit2Token = await forwardAuth(paidRequestV2(await signedPermit2Payment(only(r, 1), { token: TKN.address }, { accepted: obol })), deps);
    expect(errorOf(otherPermit2Token.answer)).toContain("permit2_token_mismatch");
    expect(calls.verify).toBe(0);
  });

  it("cannot mix the fields of two accepts: one accept's asset with another's amount or payee is an accept the route does not offer", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const deps = verifierDeps(facilitator, {}, r);
    const [usdc, obol, eurc] = r.accepts.map((a) => a.v2Requirement);
    const mixes = [
      { ...obol, amount: usdc!.amount },
      { ...usdc, asset: OBOL },
      { ...usdc, extra: obol!.extra },
      { ...eurc, payTo: PAY_TO },
      { ...obol, maxTimeoutSeconds: 999_999 },
      { ...obol, network: "eip155:8453" },
    ];
    for (const accepted of mixes) {
      const { answer } = await forwardAuth(paidRequestV2(await signedPermit2Payment(only(r, 1), { amount: String((accepted as { amount?: unknown }).amount) }, { accepted })), deps);
      expect(answer.status).toBe(402);
    }
    // EURC's accept named, paid by EIP-3009 to PAY_TO (the other accepts' payee) instead of OTHER_PAYEE.
    const wrongPayee = await forwardAuth(paidRequestV2(await signedEip3009V2(r.accepts[2]!, { to: PAY_TO })), deps);
    expect(errorOf(wrongPayee.answer)).toContain("recipient_mismatch");
    expect(calls.verify).toBe(0);
  });

  it("cannot pay the EURC accept with an authorization signed for USDC (same amount, another token's EIP-712 domain)", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const header = await signedEip3009V2(r.accepts[2]!, {}, { domainOf: r.accepts[0]! });
    const { answer } = await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, {}, r));
    expect(answer.status).toBe(402);
    expect(errorOf(answer)).toContain("invalid_exact_evm_payload_signature");
    expect(calls.verify).toBe(0);
  });

  it("cannot pay a Permit2 accept with an EIP-3009 payload, nor an EIP-3009 accept with a Permit2 payload", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const deps = verifierDeps(facilitator, {}, r);
    // An EIP-3009 authorization "for OBOL" naming the OBOL accept (OBOL has no EIP-3009).
    const eip3009ForPermit2 = await forwardAuth(paidRequestV2(await signedEip3009V2({ ...r.accepts[1]!, asset: { ...r.accepts[1]!.asset, eip712Name: "OBOL", eip712Version: "1" } }, {}, { accepted: r.accepts[1]!.v2Requirement })), deps);
    expect(eip3009ForPermit2.answer.status).toBe(402);
    expect(errorOf(eip3009ForPermit2.answer)).toContain("transfer_method");
    // A USDC authorization by EIP-3009 naming OBOL's accept.
    const usdcForObol = await forwardAuth(paidRequestV2(await signedEip3009V2(r.accepts[0]!, { value: String(r.accepts[1]!.amount) }, { accepted: r.accepts[1]!.v2Requirement })), deps);
    expect(usdcForObol.answer.status).toBe(402);
    // A Permit2 permit for USDC naming USDC's EIP-3009 accept (Permit2 can move USDC, but the accept says EIP-3009).
    const permit2ForEip3009 = await forwardAuth(paidRequestV2(await signedPermit2Payment(only(r, 0))), deps);
    expect(permit2ForEip3009.answer.status).toBe(402);
    expect(errorOf(permit2ForEip3009.answer)).toContain("transfer_method");
    expect(calls.verify).toBe(0);
  });

  it("cannot send a Permit2 payload in an x402 v1 header, even to a route v1 can pay, nor an x402 v2 body in the v1 header", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const deps = verifierDeps(facilitator, {}, r);
    const permit = decode(await signedPermit2Payment(only(r, 1)));
    const v1 = await forwardAuth(paidRequest(encode({ x402Version: 1, scheme: "exact", network: "base-sepolia", payload: permit.payload })), deps);
    expect(v1.answer.status).toBe(400);
    const v2InV1 = await forwardAuth(paidRequest(encode(permit)), deps);
    expect(v2InV1.answer.status).toBe(400);
    expect(calls.verify).toBe(0);
  });

  it("pays the v1 accept only in v1's token: a v1 EURC authorization where v1 is offered USDC is refused", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const eurc = decode(await signedEip3009V2(r.accepts[2]!));
    const v1 = encode({ x402Version: 1, scheme: "exact", network: "base-sepolia", payload: eurc.payload });
    const { answer } = await forwardAuth(paidRequest(v1), verifierDeps(facilitator, {}, r));
    expect(answer.status).toBe(402);
    expect(calls.verify).toBe(0);
  });
});

describe("one permit or authorization pays once", () => {
  it("a Permit2 nonce spent on OBOL cannot pay TKN (another token, another accept), later or concurrently", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const deps = verifierDeps(facilitator, {}, r);
    expect((await forwardAuth(paidRequestV2(await signedPermit2Payment(only(r, 1), { nonce: "31337" })), deps)).answer.status).toBe(200);
    const again = await forwardAuth(paidRequestV2(await signedPermit2Payment(only(r, 3), { nonce: "31337" })), deps);
    expect(again.answer.status).toBe(402);
    expect(errorOf(again.answer)).toContain("payment_already_used");
    expect(calls.settle).toBe(1);
  });

  it("a Permit2 nonce written with leading zeros, or as its 32-byte equivalent, is the same nonce", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const deps = verifierDeps(facilitator, {}, r);
    expect((await forwardAuth(paidRequestV2(await signedPermit2Payment(only(r, 1), { nonce: "4096" })), deps)).answer.status).toBe(200);
    expect((await forwardAuth(paidRequestV2(await signedPermit2Payment(only(r, 1), { nonce: "0004096" })), deps)).answer.status).toBe(402);
    expect(calls.settle).toBe(1);
  });

  it("the same permit (same payee and price on two routes of two tenants) pays one route once", async () => {
    const a = pricedRoute({ price: "0.01", asset: OBOL_ASSET }, { name: "a", namespace: "alice" });
    const b = pricedRoute({ price: "0.01", asset: OBOL_ASSET }, { name: "b", namespace: "bob" });
    const guard = memoryReplayGuard();
    const { facilitator, calls } = recording();
    const header = await signedPermit2Payment(a, { nonce: "555" });
    expect((await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, a))).answer.status).toBe(200);
    const other = await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, b));
    expect(other.answer.status).toBe(402);
    expect(errorOf(other.answer)).toContain("payment_already_used");
    expect(calls.settle).toBe(1);
  });

  it("the same permit sent to two routes at once: one settles, the other is told to wait, never both", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = pricedRoute({ price: "0.01", asset: OBOL_ASSET }, { name: "a", namespace: "alice" });
    const b = pricedRoute({ price: "0.01", asset: OBOL_ASSET }, { name: "b", namespace: "bob" });
    const guard = memoryReplayGuard();
    const { facilitator, calls } = recording(VALID, async () => (await gate, SETTLED));
    const header = await signedPermit2Payment(a, { nonce: "556" });
    const first = forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, a));
    await new Promise((r) => setTimeout(r, 20));
    expect((await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, b))).answer.status).toBe(503);
    release();
    expect((await first).answer.status).toBe(200);
    expect(calls.settle).toBe(1);
  });

  it("a spent permit replayed with its addresses in other cases, its amount padded with zeros or its signature malleated (high s) is refused", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const deps = verifierDeps(facilitator, {}, r);
    const header = await signedPermit2Payment(only(r, 1), { nonce: "777" });
    expect((await forwardAuth(paidRequestV2(header), deps)).answer.status).toBe(200);
    const body = decode(header);
    const p = body.payload.permit2Authorization;
    const variants = [
      { ...p, from: p.from.toLowerCase(), permitted: { token: p.permitted.token.toUpperCase().replace("0X", "0x"), amount: `000${p.permitted.amount}` }, witness: { ...p.witness, to: p.witness.to.toLowerCase() } },
      { ...p, deadline: `0${p.deadline}`, spender: p.spender.toLowerCase() },
    ];
    for (const permit2Authorization of variants) {
      const { answer } = await forwardAuth(paidRequestV2(encode({ ...body, payload: { ...body.payload, permit2Authorization } })), deps);
      expect(answer.status).toBe(402);
    }
    // The same signature with s' = n - s and v flipped: valid for ecrecover, other bytes.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const sig: string = body.payload.signature;
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const vByte = parseInt(sig.slice(130, 132), 16);
    const malleated = `${sig.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${(vByte === 27 ? 28 : 27).toString(16)}`;
    const high = await forwardAuth(paidRequestV2(encode({ ...body, payload: { ...body.payload, signature: malleated } })), deps);
    expect([402, 503]).toContain(high.answer.status);
    expect(calls.settle).toBe(1);
  });

  it("an EIP-3009 authorization spent on USDC is refused when replayed in x402 v1 or with a lowercased payer", async () => {
    const r = shop();
    const { facilitator, calls } = recording();
    const deps = verifierDeps(facilitator, {}, r);
    const header = await signedEip3009V2(r.accepts[0]!, { nonce: `0x${"ab".repeat(32)}` });
    expect((await forwardAuth(paidRequestV2(header), deps)).answer.status).toBe(200);
    const body = decode(header);
    const v1 = encode({ x402Version: 1, scheme: "exact", network: "base-sepolia", payload: body.payload });
    expect((await forwardAuth(paidRequest(v1), deps)).answer.status).toBe(402);
    const lower = { ...body, payload: { ...body.payload, authorization: { ...body.payload.authorization, from: BUYER.toLowerCase(), nonce: body.payload.authorization.nonce.toUpperCase().replace("0X", "0x") } } };
    expect((await forwardAuth(paidRequestV2(encode(lower)), deps)).answer.status).toBe(402);
    expect(calls.settle).toBe(1);
  });
});

