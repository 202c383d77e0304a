// What becomes of a held payment: verified, settled, resumed after an unknown outcome, or let
// go; and the answers each ends in. The rules for money: 402 only when nothing can have
// moved; 503 + Retry-After when we cannot tell yet (the hold is kept, so the buyer's retry
// of the same payment learns what happened instead of paying again); served only after a
// settled (or verified, in verify-only mode) payment.
import { networkIdFor } from "../core/networks.ts";
import { allowed, type Answer, base64Json, paymentRequired, unavailable } from "./answer.ts";
import { beforeDeadline, type Deadline, shorterOf, TIMED_OUT } from "../adapters/deadline.ts";
import type { PaymentContext, SettleOutcome } from "./x402/facilitator.ts";
import type { Decision, VerifierDeps } from "./deps.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import type { Reservation } from "./replay-guard.ts";
import { MAYBE_NONCE_USED, REASON } from "./x402/reasons.ts";

/** Starting a settlement with less time than this left would make its outcome unknown for sure. */
export const MIN_SETTLE_MS = 1000;

/** A payment held under `key`, with what it pays and the upstream credentials read for it. */
export type Paid = { context: PaymentContext; key: string; credentials: string | undefined };

/**
 * A paid request before its upstream is asked. answer: say this and do not forward. paid:
 * settled already (a payment in doubt that landed) or verified in verify-only mode: forward,
 * and serve with the decision's headers. verified: forward, then settlePaid (or letGo when
 * the upstream did not deliver).
 */
export type Admitted =
  | { kind: "answer"; decision: Decision }
  | { kind: "paid"; decision: Decision }
  | Verified;

/** Verified, not yet settled; `slot` is the payment slot it holds, if any. */
export type Verified = { kind: "verified"; paid: Paid; slot?: () => void };

function refusedWith(decision: Decision): Exclude<Admitted, Verified> {
  return { kind: "answer", decision };
}

export type HeldRequest = { route: PricedRoute; resource: string; digest: string };

/**
 * What we already know of a held authorization, without reading anything: done, already
 * used; being verified, settled or resolved, or held for another authorization reusing the
 * nonce: wait (never pay). Undefined: it is this very payment's unknown outcome (or one a
 * replica that died left held), to resume.
 */
export function answerKnown(held: Reservation, { route, resource, digest }: HeldRequest, deps: VerifierDeps): Decision | undefined {
  if (held.state === "done") return refuse(route, resource, REASON.alreadyUsed, "this payment authorization was already used", deps);
  const inDoubt = held.state === "unknown" || held.orphaned === true;
  if (!inDoubt || held.payment !== digest) return waitForIt(route);
  return undefined;
}

export function waitForIt(route: PricedRoute): Decision {
  return { route, answer: unavailable("this payment is being processed; do not pay again, retry this request later") };
}

/**
 * The same authorization again, after an unknown outcome; we hold the "resolving" claim.
 * Settled: serve it once (paid). Not settled: settle afresh (undefined). Still unknown: 503 again.
 */
export async function resume(paid: Paid, transaction: string | undefined, deps: VerifierDeps): Promise<Admitted | undefined> {
  const { context, key } = paid;
  const { route } = context;
  const resolution = await beforeDeadline(context.deadline, deps.facilitator.resolve(context).catch((error) => ({ kind: "unknown" as const, message: String(error) })));
  if (resolution === TIMED_OUT || resolution.kind === "unknown") {
    await deps.guard.transition(key, "resolving", "unknown");
    deps.log.warn("settlement outcome still unknown", { route: route.key, transaction, message: resolution === TIMED_OUT ? "out of time" : resolution.message });
    return refusedWith({ route, answer: unknownOutcome() });
  }
  if (resolution.kind === "not-settled") {
    if (resolution.refusal) {
      await deps.guard.release(key);
      return refusedWith(refuse(route, context.resource, resolution.refusal.reason, resolution.refusal.message, deps));
    }
    // Ours again to settle afresh; unless another replica took it over meanwhile (it took us for dead).
    return (await deps.guard.transition(key, "resolving", "in-flight")) ? undefined : refusedWith(waitForIt(route));
  }
  const settled = landed(context, resolution) || (transaction ?? "");
  const moved = await deps.guard.transition(key, "resolving", "done", settled);
  if (moved !== true) return refusedWith(moved === "kept" ? await keptInDoubt(paid, settled, deps) : waitForIt(route));
  deps.log.info("unknown settlement resolved: it landed; serving the retry", { route: route.key, transaction: settled });
  return servedSettled(paid, settled, deps);
}

/**
 * The chain shows this payment landed: what it charged is what moved, which for upto may be
 * less than authorized (the receipt and the revenue say so, not the maximum). Its transaction.
 */
function landed(context: PaymentContext, resolution: { transaction?: string; amount?: bigint }): string {
  if (context.accept.scheme === "upto" && resolution.amount !== undefined) context.charge = resolution.amount;
  return resolution.transaction ?? "";
}

/** Settled earlier and now recorded as done: counted and served once, with its receipt. */
function servedSettled({ context, credentials }: Paid, transaction: string, deps: VerifierDeps): Exclude<Admitted, Verified> {
  deps.metrics?.settled(context.route, context.accept, context.charge);
  return { kind: "paid", decision: pass(context, transaction, credentials) };
}

/**
 * Asks the facilitator whether the payment is good. Undefined: it is, and it is to be settled
 * (settlePaid); otherwise the answer, with the hold released or, verify-only, the payment served.
 */
export async function verifyPaid(paid: Paid, deps: VerifierDeps): Promise<Admitted | undefined> {
  const { context, key, credentials } = paid;
  const { route, resource, deadline } = context;
  // Verification may take half of what is left, so that settlement still has time.
  const verifyBy: Deadline = deps.mode === "verify-only" ? deadline : shorterOf(deadline, deadline.remainingMs() / 2);
  // The facilitators keep to their deadlines; this holds even for one that does not.
  const verified = await beforeDeadline(verifyBy, deps.facilitator.verify({ ...context, deadline: verifyBy })).then((v) => v === TIMED_OUT ? unreachable : v);
  if (verified.kind === "unavailable") {
    deps.log.warn("payment verification unavailable", { route: route.key, message: verified.message });
    return refusedWith(await letGo(paid, deps, () => unavailable("payment verification is unavailable; no payment was taken, retry later")));
  }
  if (verified.kind === "invalid") {
    const landed = MAYBE_NONCE_USED.has(verified.reason) ? await landedBefore(paid, deps) : undefined;
    return landed ?? refusedWith(await letGo(paid, deps, () => paymentRefused(route, resource, verified.reason, verified.message, deps)));
  }
  deps.metrics?.verified(route);
  if (deps.mode === "verify-only") {
    const recorded = await deps.guard.mark(key, "done");
    if (recorded === "recorded") return { kind: "paid", decision: pass(context, "", credentials) };
    // Not served on a hold the others cannot see: nothing was taken, so the hold goes (once the store is back).
    if (recorded === "kept") await deps.guard.release(key);
    return refusedWith(recorded === "kept" ? { route, answer: unavailable(NOT_RECORDED) } : waitForIt(route));
  }
  return undefined;
}

/** Settles a verified payment: served (with its receipt) only once it is settled. */
export async function settlePaid(paid: Paid, deps: VerifierDeps): Promise<Decision> {
  const { context, key, credentials } = paid;
  const { route, resource, deadline } = context;
  if (deadline.remainingMs() < MIN_SETTLE_MS) {
    return letGo(paid, deps, () => unavailable("no time left to settle within Traefik's timeout; no payment was taken, retry later"));
  }
  const settled = await beforeDeadline(deadline, deps.facilitator.settle(context)).then((v) => v === TIMED_OUT ? outOfTime : v);
  if (settled.kind === "failed") {
    const landed = MAYBE_NONCE_USED.has(settled.reason) ? await landedBefore(paid, deps) : undefined;
    return landed?.decision ?? letGo(paid, deps, () => paymentRefused(route, resource, settled.reason, settled.message, deps));
  }
  if (settled.kind === "unavailable") {
    deps.log.warn("settlement unavailable; nothing was sent", { route: route.key, message: settled.message });
    return letGo(paid, deps, () => unavailable("settlement is unavailable; no payment was taken, retry later"));
  }
  if (settled.kind === "unknown") {
    await deps.guard.mark(key, "unknown", settled.transaction);
    deps.log.error("settlement outcome unknown; the reservation is kept", { route: route.key, transaction: settled.transaction, message: settled.message });
    return { route, answer: unknownOutcome() };
  }
  const recorded = await deps.guard.mark(key, "done", settled.transaction);
  if (recorded !== "recorded") return recorded === "kept" ? await keptInDoubt(paid, settled.transaction, deps) : waitForIt(route);
  deps.metrics?.settled(route, context.accept, context.charge);
  return pass(context, settled.transaction, credentials);
}

const NOT_RECORDED = "payments cannot be recorded right now; no payment was taken, retry this request later";

/**
 * Settled, but "done" could not be recorded: served now, another replica could find the hold
 * orphaned and serve it again. Kept as unknown with its transaction instead: the buyer's retry
 * resolves it from the chain and is served once.
 */
async function keptInDoubt({ context, key }: Paid, transaction: string, deps: VerifierDeps): Promise<Decision> {
  await deps.guard.mark(key, "unknown", transaction);
  deps.log.error("payment settled but not recorded (store unreachable); kept as unknown for the buyer's retry", { route: context.route.key, transaction });
  return { route: context.route, answer: unknownOutcome(), settled: { receipt: receiptOf(context, transaction) } };
}

/**
 * A first attempt refused because the authorization's nonce is used: it may be this very
 * payment, settled before its hold was lost (a restart, or the store's data). The chain tells:
 * landed to this route's payee, it is served once (the buyer must not pay twice); anything
 * less, undefined (the refusal stands, as it did before). Only when settling: verify-only takes nothing.
 */
async function landedBefore(paid: Paid, deps: VerifierDeps): Promise<Exclude<Admitted, Verified> | undefined> {
  const { context, key } = paid;
  const { route } = context;
  if (deps.mode !== "settle" || context.retry) return undefined;
  const resolution = await beforeDeadline(context.deadline, deps.facilitator.resolve(context).catch((error) => ({ kind: "unknown" as const, message: String(error) })));
  // Only a transfer the chain shows paid this route for this very payment overturns the refusal.
  if (resolution === TIMED_OUT || resolution.kind !== "settled") return undefined;
  const transaction = landed(context, resolution);
  const recorded = await deps.guard.mark(key, "done", transaction);
  if (recorded !== "recorded") return refusedWith(recorded === "kept" ? await keptInDoubt(paid, transaction, deps) : waitForIt(route));
  deps.log.warn("a used nonce was this payment, settled before its hold was lost; serving it once", { route: route.key, transaction });
  return servedSettled(paid, transaction, deps);
}

/** After a definite "not paid": the hold is freed and the buyer told why, unless this is a retry of a payment in doubt. */
export async function letGo(paid: Paid, deps: VerifierDeps, answer: () => Answer): Promise<Decision> {
  if (paid.context.retry) return keepInDoubt(paid, deps);
  await deps.guard.release(paid.key);
  return { route: paid.context.route, answer: answer() };
}

/**
 * A retry of a payment in doubt that did not end in a settlement. The resolver saw the earlier
 * transfer not landed *then*, but it may land yet (a pending transaction, a facilitator's own,
 * spending the nonce, the balance or the allowance this attempt finds short), so nothing this
 * attempt learns frees the hold or asks for another payment: it stays unknown and is resolved
 * again on the next retry, until the authorization lapses.
 */
export async function keepInDoubt({ context, key }: Paid, deps: VerifierDeps): Promise<Decision> {
  await deps.guard.mark(key, "unknown");
  return { route: context.route, answer: unknownOutcome() };
}

const unreachable = { kind: "unavailable", message: "verification out of time" } as const;
const outOfTime: SettleOutcome = { kind: "unknown", message: "settlement out of time" };

export function unknownOutcome() {
  return unavailable("settlement outcome unknown; do not pay again, retry this request later");
}

/** Every header value here is one we made or validated: base64, an address checked by the schema, a Secret checked when read. */
function pass(context: PaymentContext, transaction: string, credentials: string | undefined): Decision {
  const payer = context.payment.authorization.from;
  const headers: Record<string, string> = { "x-payment-response": receiptOf(context, transaction), "x-payment-payer": payer };
  if (credentials !== undefined) headers.authorization = credentials;
  return { route: context.route, answer: allowed(headers) };
}

/** The settlement receipt (X-PAYMENT-RESPONSE), base64 JSON; upto says what it settled, which may be less than the maximum. */
function receiptOf({ accept, payment, charge }: PaymentContext, transaction: string): string {
  const payer = payment.authorization.from;
  const network = networkIdFor(payment.version, accept.network);
  const settlement = accept.scheme === "upto" ? { success: true, transaction, network, payer, amount: String(charge ?? accept.amount) } : { success: true, transaction, network, payer };
  return base64Json(settlement);
}

export function refuse(route: PricedRoute, resource: string, reason: string, message: string, deps: VerifierDeps): Decision {
  return { route, answer: paymentRefused(route, resource, reason, message, deps) };
}

export function paymentRefused(route: PricedRoute, resource: string, reason: string, message: string, deps: VerifierDeps): Answer {
  deps.metrics?.refused(route, reason);
  return paymentRequired(route, resource, `${reason}: ${message}`);
}
