// Payments through the decision logic, with a scripted facilitator (the real ones are
// proven in tests/interop against a real chain and the official clients). What a buyer
// would check: the status, what reaches the upstream, and how often money could move.
import { Buffer } from "node:buffer";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import type { Resolution, SettleOutcome, VerifyOutcome } from "./x402/facilitator.ts";
import { forwardAuth } from "./forward-auth.ts";
import { boundedSlots } from "../adapters/slots.ts";
import { BUYER, NOW, paidRequest, PAY_TO, pricedRoute, scripted, SETTLED, signedPayment, VALID, verifierDeps } from "./test-support.ts";

const STRANGER = privateKeyToAccount("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");
const statusOf = async (payment: string, deps: ReturnType<typeof verifierDeps>) => (await forwardAuth(paidRequest(payment), deps)).answer.status;

describe("a paid request", () => {
  it("refuses a malformed header with 400 and a reason", async () => {
    const { answer } = await forwardAuth(paidRequest("not base64!"), verifierDeps(scripted(VALID, SETTLED).facilitator));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error).toContain("base64");
  });

  it.each([
    [{ value: "999" }, "invalid_exact_evm_payload_authorization_value"],
    [{ to: BUYER }, "invalid_exact_evm_payload_recipient_mismatch"],
    [{ validBefore: String(NOW + 3n) }, "invalid_exact_evm_payload_authorization_valid_before"],
    [{ validAfter: String(NOW + 100n) }, "invalid_exact_evm_payload_authorization_valid_after"],
  ])("refuses a wrong payment with 402 before any facilitator call: %o", async (overrides, reason) => {
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const { answer } = await forwardAuth(paidRequest(await signedPayment(overrides)), verifierDeps(facilitator));
    expect(answer.status).toBe(402);
    expect(JSON.parse(answer.body).error).toContain(reason);
    expect(calls.verify).toBe(0);
  });

  it("refuses a signature by someone other than the payer locally, unless a chain says the payer is a contract", async () => {
    const forged = await signedPayment({}, { signer: STRANGER });
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const { answer } = await forwardAuth(paidRequest(forged), verifierDeps(facilitator));
    expect(answer.status).toBe(402);
    expect(JSON.parse(answer.body).error).toContain("invalid_exact_evm_payload_signature");
    expect(calls.verify).toBe(0);
    const contracts = scripted(VALID, SETTLED);
    let seenSignedByPayer: boolean | undefined;
    contracts.facilitator.verify = async (context) => ((seenSignedByPayer = context.signedByPayer), VALID);
    expect(await statusOf(forged, verifierDeps(contracts.facilitator, { isContract: async () => true }))).toBe(200);
    expect(seenSignedByPayer).toBe(false);
    expect(await statusOf(forged, verifierDeps(scripted(VALID, SETTLED).facilitator, { isContract: async () => { throw new Error("rpc down"); } }))).toBe(503);
  });

  it("settles a valid payment and hands the upstream the payer, the settlement and its credentials", async () => {
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const { answer } = await forwardAuth(paidRequest(await signedPayment()), verifierDeps(facilitator, { upstreamAuthorization: async () => ({ ok: true, authorization: "Bearer sk-1" }) }));
    expect(answer.status).toBe(200);
    expect(calls).toEqual({ verify: 1, settle: 1, resolve: 0 });
    expect(answer.headers["x-payment-payer"]).toBe(BUYER);
    expect(answer.headers.authorization).toBe("Bearer sk-1");
    expect(JSON.parse(Buffer.from(answer.headers["x-payment-response"]!, "base64").toString())).toEqual({ success: true, transaction: `0x${"cd".repeat(32)}`, network: "base-sepolia", payer: BUYER });
  });

  it("takes no payment when the upstream credentials cannot be read", async () => {
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const { answer } = await forwardAuth(paidRequest(await signedPayment()), verifierDeps(facilitator, { upstreamAuthorization: async () => ({ ok: false, problem: "Secret llm/keys not found" }) }));
    expect(answer.status).toBe(503);
    expect(calls.verify).toBe(0);
  });

  it("accepts one of two concurrent uses of the same authorization, tells the other to wait, and refuses any later one", async () => {
    const d = verifierDeps(scripted(VALID, SETTLED).facilitator);
    const header = await signedPayment();
    const answers = await Promise.all([forwardAuth(paidRequest(header), d), forwardAuth(paidRequest(header), d)]);
    expect(answers.map((a) => a.answer.status).sort()).toEqual([200, 503]);
    expect(await statusOf(header, d)).toBe(402);
  });

  it("answers a retry that arrives while the first attempt is still settling with 503, never 402", async () => {
    let finish!: (outcome: SettleOutcome) => void;
    const d = verifierDeps(scripted(VALID, () => new Promise<SettleOutcome>((resolve) => (finish = resolve))).facilitator);
    const header = await signedPayment();
    const first = forwardAuth(paidRequest(header), d);
    await new Promise((r) => setTimeout(r, 20));
    const retry = (await forwardAuth(paidRequest(header), d)).answer;
    expect(retry.status).toBe(503);
    expect(retry.headers["retry-after"]).toBe("15");
    expect(JSON.parse(retry.body).error).toContain("do not pay again");
    finish(SETTLED);
    expect((await first).answer.status).toBe(200);
  });

  it("refuses reuse in verify-only mode too", async () => {
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const d = verifierDeps(facilitator, { mode: "verify-only" });
    const header = await signedPayment();
    expect(await statusOf(header, d)).toBe(200);
    expect(await statusOf(header, d)).toBe(402);
    expect(calls.settle).toBe(0);
  });

  it("answers an unknown settlement outcome with 503, never 402, and keeps answering so while it stays unknown", async () => {
    const d = verifierDeps(scripted(VALID, { kind: "unknown", message: "receipt timeout", transaction: "0x01" }).facilitator);
    const header = await signedPayment();
    const { answer } = await forwardAuth(paidRequest(header), d);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body).error).toContain("do not pay again");
    expect(await statusOf(header, d)).toBe(503);
  });

  it("serves a retried payment once when the unknown settlement turns out to have landed", async () => {
    const { facilitator, calls } = scripted(VALID, { kind: "unknown", message: "receipt timeout", transaction: "0x01" }, { kind: "settled", transaction: "0x01" });
    const d = verifierDeps(facilitator);
    const header = await signedPayment();
    expect(await statusOf(header, d)).toBe(503);
    const retry = await forwardAuth(paidRequest(header), d);
    expect(retry.answer.status).toBe(200);
    expect(JSON.parse(Buffer.from(retry.answer.headers["x-payment-response"]!, "base64").toString()).transaction).toBe("0x01");
    expect(await statusOf(header, d)).toBe(402);
    expect(calls.settle).toBe(1);
  });

  it("resolves an unknown outcome once when ten retries arrive together, and serves exactly one of them", async () => {
    let answer!: (resolution: Resolution) => void;
    const { facilitator, calls } = scripted(VALID, { kind: "unknown", message: "receipt timeout" }, () => new Promise<Resolution>((resolve) => (answer = resolve)));
    const d = verifierDeps(facilitator);
    const header = await signedPayment();
    expect(await statusOf(header, d)).toBe(503);
    const retries = Array.from({ length: 10 }, () => forwardAuth(paidRequest(header), d));
    await new Promise((r) => setTimeout(r, 20));
    answer({ kind: "settled", transaction: "0x01" });
    const statuses = (await Promise.all(retries)).map((r) => r.answer.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(503)]);
    expect(calls.resolve).toBe(1);
  });

  it("settles again, as a retry, when the unknown settlement turns out not to have landed", async () => {
    const outcomes: SettleOutcome[] = [{ kind: "unknown", message: "rpc reset", transaction: "0x01" }, SETTLED];
    const retries: (boolean | undefined)[] = [];
    const { facilitator } = scripted(VALID, SETTLED, { kind: "not-settled" });
    facilitator.settle = async (context) => (retries.push(context.retry), outcomes.shift()!);
    const d = verifierDeps(facilitator);
    const header = await signedPayment();
    expect(await statusOf(header, d)).toBe(503);
    expect(await statusOf(header, d)).toBe(200);
    expect(retries).toEqual([undefined, true]);
  });

  it("frees the authorization after a definite settlement failure", async () => {
    const failing = scripted(VALID, { kind: "failed", reason: "insufficient_funds", message: "balance too low" });
    const d = verifierDeps(failing.facilitator);
    const header = await signedPayment();
    const { answer } = await forwardAuth(paidRequest(header), d);
    expect(answer.status).toBe(402);
    expect(JSON.parse(answer.body).error).toContain("insufficient_funds");
    await forwardAuth(paidRequest(header), d);
    expect(failing.calls.verify).toBe(2);
  });

  it("answers 503 and takes nothing when the facilitator cannot verify, or cannot send the settlement", async () => {
    expect(await statusOf(await signedPayment(), verifierDeps(scripted({ kind: "unavailable", message: "rpc down" }, SETTLED).facilitator))).toBe(503);
    const notSent = scripted(VALID, { kind: "unavailable", message: "no key" });
    const d = verifierDeps(notSent.facilitator);
    const header = await signedPayment();
    expect(await statusOf(header, d)).toBe(503);
    expect(await statusOf(header, d)).toBe(503);
    expect(notSent.calls.settle).toBe(2); // released each time: nothing was sent
  });

  it("answers within one budget: a verification that never ends is cut at half of it, a settlement at the whole", async () => {
    const never = () => new Promise<never>(() => {});
    const hung = verifierDeps(scripted(never, SETTLED).facilitator, { answerTimeoutMs: 200 });
    let started = performance.now();
    expect(await statusOf(await signedPayment(), hung)).toBe(503);
    expect(performance.now() - started).toBeLessThan(1000);
    const { facilitator } = scripted(VALID, SETTLED);
    facilitator.settle = async (context) => {
      await new Promise((r) => setTimeout(r, context.deadline.remainingMs()));
      return { kind: "unknown", message: "out of time" };
    };
    started = performance.now();
    const { answer } = await forwardAuth(paidRequest(await signedPayment()), verifierDeps(facilitator, { answerTimeoutMs: 2500 }));
    expect([answer.status, JSON.parse(answer.body).error]).toEqual([503, expect.stringContaining("outcome unknown")]);
    expect(performance.now() - started).toBeLessThan(3500);
  });

  it("does not start a settlement it has no time left to finish", async () => {
    const { facilitator, calls } = scripted(async () => (await new Promise((r) => setTimeout(r, 700)), VALID), SETTLED);
    const d = verifierDeps(facilitator, { answerTimeoutMs: 1500 });
    expect(await statusOf(await signedPayment(), d)).toBe(503);
    expect(calls.settle).toBe(0);
  });

  it("tells a payment to come back later when too many are in progress, before any facilitator call", async () => {
    const slots = boundedSlots(1);
    const held = await slots.acquire({ remainingMs: () => 1000 });
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const d = verifierDeps(facilitator, { slots, answerTimeoutMs: 3000 });
    const header = await signedPayment();
    expect(await statusOf(header, d)).toBe(503);
    expect(calls.verify).toBe(0);
    held!();
    expect(await statusOf(header, d)).toBe(200); // the hold was released: the same payment goes through
  });

  it("pays only the route's recipient: a buyer's payment to anyone else is refused", async () => {
    expect(await statusOf(await signedPayment({ to: BUYER }), verifierDeps(scripted(VALID, SETTLED).facilitator))).toBe(402);
    expect(await statusOf(await signedPayment({ to: PAY_TO }), verifierDeps(scripted(VALID, SETTLED).facilitator))).toBe(200);
  });

  it("resolves a retry of an unknown outcome even after the authorization expired or the price changed: checks the clock could fail come after", async () => {
    const { facilitator, calls } = scripted(VALID, { kind: "unknown", message: "receipt timeout" }, { kind: "settled", transaction: "0x01" });
    let now = NOW;
    const route = { current: pricedRoute() };
    const d = verifierDeps(facilitator, { nowSeconds: () => now, routes: () => ({ lookup: () => route.current, size: 1 }) });
    const header = await signedPayment();
    expect(await statusOf(header, d)).toBe(503);
    now = NOW + 400n; // past validBefore (NOW + 300)
    route.current = pricedRoute({ price: "0.002" });
    expect(await statusOf(header, d)).toBe(200);
    expect(calls.resolve).toBe(1);
  });

  it("never lets another authorization with the same nonce resume an unknown outcome: it is told to wait, not to pay", async () => {
    const { facilitator, calls } = scripted(VALID, { kind: "unknown", message: "receipt timeout" }, { kind: "settled" });
    const d = verifierDeps(facilitator);
    expect(await statusOf(await signedPayment({}, { nonce: 7 }), d)).toBe(503);
    const sameNonceElsewhere = await signedPayment({ validBefore: String(NOW + 299n) }, { nonce: 7 });
    const answer = (await forwardAuth(paidRequest(sameNonceElsewhere), d)).answer;
    expect([answer.status, JSON.parse(answer.body).error]).toEqual([503, expect.stringContaining("do not pay again")]);
    expect(calls.resolve).toBe(0);
  });

  it("takes a used nonce on a retry after an unknown outcome for what it may be: that attempt landing late (503, not 402)", async () => {
    const verifies: VerifyOutcome[] = [VALID, { kind: "invalid", reason: "invalid_exact_evm_nonce_already_used", message: "used" }];
    const { facilitator } = scripted(() => verifies.shift()!, { kind: "unknown", message: "rpc reset" }, { kind: "not-settled" });
    const d = verifierDeps(facilitator);
    const header = await signedPayment();
    expect(await statusOf(header, d)).toBe(503);
    expect(await statusOf(header, d)).toBe(503);
  });

  it("refuses an authorization valid for far longer than the route allows (its hold would last as long)", async () => {
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const { answer } = await forwardAuth(paidRequest(await signedPayment({ validBefore: String(NOW + 10n ** 9n) })), verifierDeps(facilitator));
    expect([answer.status, JSON.parse(answer.body).error]).toEqual([402, expect.stringContaining("valid for too long")]);
    expect(calls.verify).toBe(0);
  });

  it("refuses a payload carrying fields it does not check (a facilitator might act on them)", async () => {
    const smuggled = JSON.parse(Buffer.from(await signedPayment(), "base64").toString());
    smuggled.payload.permit2Authorization = { from: BUYER, permitted: { token: PAY_TO, amount: "1" } };
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const { answer } = await forwardAuth(paidRequest(Buffer.from(JSON.stringify(smuggled)).toString("base64")), verifierDeps(facilitator));
    expect(answer.status).toBe(400);
    expect(calls.verify).toBe(0);
  });

  it("refuses a signature in a smart wallet's format when no chain can judge it, unless it is a counterfactual (ERC-6492) one", async () => {
    const long = JSON.parse(Buffer.from(await signedPayment(), "base64").toString());
    long.payload.signature = `0x${"ab".repeat(100)}`;
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const d = verifierDeps(facilitator);
    expect(await statusOf(Buffer.from(JSON.stringify(long)).toString("base64"), d)).toBe(402);
    expect(calls.verify).toBe(0);
    long.payload.signature = `0x${"ab".repeat(100)}${"6492".repeat(16)}`;
    expect(await statusOf(Buffer.from(JSON.stringify(long)).toString("base64"), d)).toBe(200);
    expect(calls.verify).toBe(1);
  });
});
