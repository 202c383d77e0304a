// A request that carries a payment: decode; if we already hold this authorization, answer
// from what we know of it; else check what needs no chain (fields, then the signature),
// reserve it, verify, settle, and only then let it through. The rules for money: 402 only
// when nothing can have moved; 503 + Retry-After when we cannot tell yet (the hold is kept,
// so the buyer's retry of the same payment learns what happened instead of paying again);
// 200 only after a settled (or verified, in verify-only mode) payment. Every wait takes
// its time from one deadline.
import { DEFAULT_NETWORKS, findNetwork, type Network, networkIdFor } from "../core/networks.ts";
import { allowed, type Answer, base64Json, paymentRequired, refused, unavailable } from "./answer.ts";
import { checkPayment, chooseAccept, MAX_CLOCK_SKEW_SECONDS } from "./x402/check-payment.ts";
import { beforeDeadline, type Deadline, deadlineAfter, shorterOf, TIMED_OUT } from "../adapters/deadline.ts";
import type { PaymentContext, SettleOutcome } from "./x402/facilitator.ts";
import type { Decision, VerifierDeps } from "./deps.ts";
import { decodePaymentHeader, type PaymentAttempt } from "./x402/payment-header.ts";
import { isCounterfactual, signerOf } from "./x402/payment-signature.ts";
import type { PricedAccept, PricedRoute } from "./routes/priced-route.ts";
import { PERMIT2 } from "./x402/permit2.ts";
import { type Reservation, reservationKey } from "./replay-guard.ts";
import { REASON } from "./x402/reasons.ts";

/** Traefik gives up at 30 s; this leaves room for the network on both sides. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 25_000;
/** Starting a settlement with less time than this left would make its outcome unknown for sure. */
export const MIN_SETTLE_MS = 1000;
/** How long a payment waits for a free slot before it is told to come back. */
const SLOT_WAIT_MS = 2000;

type Paid = { context: PaymentContext; key: string; credentials: string | undefined };

/** The exact authorization and the route it pays: an unknown outcome is resumed only by the same. */
export function paymentDigest(route: PricedRoute, payment: PaymentAttempt): string {
  const a = payment.authorization;
  const { method, permit2 } = payment;
  return [route.key, method, permit2?.token, permit2?.spender, a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, payment.signature].join("|").toLowerCase();
}

/**
 * The accept a payment is held under, found by its network and token alone: a held payment
 * is answered from what we know of it even after the route's price changed (its `accepted`
 * no longer equal to ours). A payment that passes the checks always finds its chosen accept.
 */
function heldUnder(payment: PaymentAttempt, route: PricedRoute): PricedAccept | undefined {
  const token = payment.permit2?.token ?? (payment.version === 2 ? String(payment.accepted?.asset) : undefined);
  return route.accepts.find((accept) =>
    networkIdFor(payment.version, accept.network) === payment.network && accept.asset.transferMethod === payment.method &&
    (token === undefined ? accept.v1Requirement !== undefined : accept.asset.address.toLowerCase() === token.toLowerCase())
  );
}

/**
 * Where a payment is held: its chain, its nonce space, payer and nonce. Permit2 keeps one
 * nonce space per owner for every token; EIP-3009 one per token, but the key leaves the
 * token out (a nonce reused across tokens is the buyer's own doing, and waits for the first).
 * Read from the payment alone, so that a held payment is found whatever the route offers now.
 */
function replayKey(payment: PaymentAttempt, networks: readonly Network[]): string | undefined {
  const network = findNetwork(networks, payment.network);
  const a = payment.authorization;
  return network && reservationKey(network.chainId, payment.method === "permit2" ? PERMIT2 : "eip3009", a.from, a.nonce);
}

export async function decidePayment(route: PricedRoute, resource: string, header: string, version: 1 | 2, deps: VerifierDeps): Promise<Decision> {
  const deadline = deadlineAfter(deps.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS);
  const decoded = decodePaymentHeader(header, version);
  if (!decoded.ok) return { route, answer: refused(400, decoded.reason) };
  const payment = decoded.payment;
  const a = payment.authorization;
  const now = deps.nowSeconds();
  const chosen = chooseAccept(payment, route);
  const key = replayKey(payment, deps.networks ?? DEFAULT_NETWORKS);
  // On a network the verifier does not know: never payable here, so never held either.
  if (!key) return chosen.ok ? refuse(route, resource, REASON.invalidNetwork, `unknown network ${payment.network}`, deps) : refuse(route, resource, chosen.refusal.reason, chosen.refusal.message, deps);
  let accept = chosen.ok ? chosen.accept : undefined;
  const digest = paymentDigest(route, payment);
  const request: HeldRequest = { route, resource, digest };
  let signedByPayer = false;

  // Held already: answered from what we know of it, before checks that the clock or a price change could fail.
  let held = deps.guard.peek(key, now);
  if (held) {
    const known = answerKnown(held, request, deps);
    if (known) return known;
    // Our own unknown outcome, resumed on the terms it was made on, even if the price changed since.
    accept = chosen.ok ? chosen.accept : heldUnder(payment, route);
  } else {
    if (!chosen.ok) return refuse(route, resource, chosen.refusal.reason, chosen.refusal.message, deps);
    accept = chosen.accept;
    const refusal = checkPayment(payment, accept, now);
    if (refusal) return refuse(route, resource, refusal.reason, refusal.message, deps);
    const signer = await signerOf(payment, accept);
    if (signer !== "payer") {
      // Only a contract wallet may sign with a key that is not its address: a chain is asked (the
      // answers are cached and the reads bounded); without one, only a not-yet-deployed wallet's
      // (ERC-6492) signature goes on, for the facilitator to judge.
      const contract = deps.isContract ? await beforeDeadline(deadline, deps.isContract(accept.network, a.from).catch(() => TIMED_OUT)) : isCounterfactual(payment.signature);
      if (contract === TIMED_OUT) return { route, answer: unavailable("the payer's wallet could not be checked; no payment was taken, retry later") };
      if (!contract) return refuse(route, resource, REASON.signature, "the signature does not match the payer", deps);
    }
    signedByPayer = signer === "payer";
  }
  // Read the upstream's credentials before taking money: no payment for a request we cannot deliver.
  const credentials = await beforeDeadline(deadline, deps.upstreamAuthorization(route));
  if (credentials === TIMED_OUT || !credentials.ok) {
    deps.log.error("upstream credentials unavailable", { route: route.key, error: credentials === TIMED_OUT ? "out of time" : credentials.problem });
    return { route, answer: unavailable("the service's credentials are unavailable; no payment was taken") };
  }
  if (!held) {
    const reservation = deps.guard.reserve(key, a.validBefore, now, digest);
    if (!reservation.ok) {
      held = reservation.held;
      const known = answerKnown(held, request, deps);
      if (known) return known;
    }
  }
  if (!accept) {
    // Held in doubt, and the route no longer offers its network and token: it cannot be resolved
    // here until it does again, and it may have landed, so the buyer is told to wait.
    deps.log.warn("a payment in doubt was made on terms its route no longer offers; it stays held", { route: route.key, network: payment.network });
    return { route, answer: unknownOutcome() };
  }
  const paid: Paid = { context: { payment, route, accept, resource, deadline, signedByPayer }, key, credentials: credentials.authorization };
  if (held) {
    // Our own unknown outcome: claim it (one resolution however many retries), and find out.
    if (!deps.guard.transition(key, "unknown", "resolving")) return waitForIt(route);
    const resumed = await resume(paid, held.transaction, deps);
    if (resumed) return resumed;
    // Definitely not landed: from here it is a fresh attempt, but a used nonce may yet be ours.
    paid.context.retry = true;
    paid.context.signedByPayer = (await signerOf(payment, accept)) === "payer";
    const refusal = chosen.ok ? checkPayment(payment, accept, now) : chosen.refusal;
    if (refusal) {
      // Our earlier transfer may still land until the authorization expires for good: until then, wait.
      if (a.validBefore + MAX_CLOCK_SKEW_SECONDS >= now) return keepInDoubt(paid, deps);
      deps.guard.release(key);
      return refuse(route, resource, refusal.reason, refusal.message, deps);
    }
  }
  const release = deps.slots ? await deps.slots.acquire(shorterOf(deadline, Math.min(SLOT_WAIT_MS, deadline.remainingMs() / 4))) : () => {};
  if (!release) return letGo(paid, deps, () => unavailable("too many payments in progress; no payment was taken, retry later"));
  try {
    return await verifyAndSettle(paid, deps);
  } catch (error) {
    // An exception after reserving may have happened after sending: keep the reservation.
    deps.guard.mark(key, "unknown");
    deps.log.error("payment processing failed", { route: route.key, error: String(error) });
    return { route, answer: unknownOutcome() };
  } finally {
    release();
  }
}

type HeldRequest = { route: PricedRoute; resource: string; digest: string };

/**
 * What we already know of a held authorization, without reading anything: done, already
 * used; being verified, settled or resolved, or held for another authorization reusing the
 * nonce: wait (never pay). Undefined: it is this very payment's unknown outcome, to resume.
 */
function answerKnown(held: Reservation, { route, resource, digest }: HeldRequest, deps: VerifierDeps): Decision | undefined {
  if (held.state === "done") return refuse(route, resource, REASON.alreadyUsed, "this payment authorization was already used", deps);
  if (held.state !== "unknown" || held.payment !== digest) return waitForIt(route);
  return undefined;
}

function waitForIt(route: PricedRoute): Decision {
  return { route, answer: unavailable("this payment is being processed; do not pay again, retry this request later") };
}

/**
 * The same authorization again, after an unknown outcome; we hold the "resolving" claim.
 * Settled: serve it once. Not settled: settle afresh (undefined). Still unknown: 503 again.
 */
async function resume({ context, key, credentials }: Paid, transaction: string | undefined, deps: VerifierDeps): Promise<Decision | undefined> {
  const { route } = context;
  const resolution = await beforeDeadline(context.deadline, deps.facilitator.resolve(context).catch((error) => ({ kind: "unknown" as const, message: String(error) })));
  if (resolution === TIMED_OUT || resolution.kind === "unknown") {
    deps.guard.transition(key, "resolving", "unknown");
    deps.log.warn("settlement outcome still unknown", { route: route.key, transaction, message: resolution === TIMED_OUT ? "out of time" : resolution.message });
    return { route, answer: unknownOutcome() };
  }
  if (resolution.kind === "not-settled") {
    if (resolution.refusal) {
      deps.guard.release(key);
      return refuse(route, context.resource, resolution.refusal.reason, resolution.refusal.message, deps);
    }
    deps.guard.transition(key, "resolving", "in-flight");
    return undefined;
  }
  const settled = resolution.transaction ?? transaction ?? "";
  deps.guard.transition(key, "resolving", "done", settled);
  deps.metrics?.settled(route, context.accept);
  deps.log.info("unknown settlement resolved: it landed; serving the retry", { route: route.key, transaction: settled });
  return pass(context, settled, credentials);
}

async function verifyAndSettle(paid: Paid, deps: VerifierDeps): Promise<Decision> {
  const { context, key, credentials } = paid;
  const { route, resource, deadline } = context;
  // Verification may take half of what is left, so that settlement still has time.
  const verifyBy: Deadline = deps.mode === "verify-only" ? deadline : shorterOf(deadline, deadline.remainingMs() / 2);
  // The facilitators keep to their deadlines; this holds even for one that does not.
  const verified = await beforeDeadline(verifyBy, deps.facilitator.verify({ ...context, deadline: verifyBy })).then((v) => v === TIMED_OUT ? unreachable : v);
  if (verified.kind === "unavailable") {
    deps.log.warn("payment verification unavailable", { route: route.key, message: verified.message });
    return letGo(paid, deps, () => unavailable("payment verification is unavailable; no payment was taken, retry later"));
  }
  if (verified.kind === "invalid") return letGo(paid, deps, () => paymentRefused(route, resource, verified.reason, verified.message, deps));
  deps.metrics?.verified(route);
  if (deps.mode === "verify-only") {
    deps.guard.mark(key, "done");
    return pass(context, "", credentials);
  }
  if (deadline.remainingMs() < MIN_SETTLE_MS) {
    return letGo(paid, deps, () => unavailable("no time left to settle within Traefik's timeout; no payment was taken, retry later"));
  }
  const settled = await beforeDeadline(deadline, deps.facilitator.settle(context)).then((v) => v === TIMED_OUT ? outOfTime : v);
  if (settled.kind === "failed") return letGo(paid, deps, () => paymentRefused(route, resource, settled.reason, settled.message, deps));
  if (settled.kind === "unavailable") {
    deps.log.warn("settlement unavailable; nothing was sent", { route: route.key, message: settled.message });
    return letGo(paid, deps, () => unavailable("settlement is unavailable; no payment was taken, retry later"));
  }
  if (settled.kind === "unknown") {
    deps.guard.mark(key, "unknown", settled.transaction);
    deps.log.error("settlement outcome unknown; the reservation is kept", { route: route.key, transaction: settled.transaction, message: settled.message });
    return { route, answer: unknownOutcome() };
  }
  deps.guard.mark(key, "done", settled.transaction);
  deps.metrics?.settled(route, context.accept);
  return pass(context, settled.transaction, credentials);
}

/** After a definite "not paid": the hold is freed and the buyer told why, unless this is a retry of a payment in doubt. */
function letGo(paid: Paid, deps: VerifierDeps, answer: () => Answer): Decision {
  if (paid.context.retry) return keepInDoubt(paid, deps);
  deps.guard.release(paid.key);
  return { route: paid.context.route, answer: answer() };
}

/**
 * A retry of a payment in doubt that did not end in a settlement. The resolver saw the earlier
 * transfer not landed *then*, but it may land yet (a pending transaction, a facilitator's own,
 * spending the nonce, the balance or the allowance this attempt finds short), so nothing this
 * attempt learns frees the hold or asks for another payment: it stays unknown and is resolved
 * again on the next retry, until the authorization lapses.
 */
function keepInDoubt({ context, key }: Paid, deps: VerifierDeps): Decision {
  deps.guard.mark(key, "unknown");
  return { route: context.route, answer: unknownOutcome() };
}

const unreachable = { kind: "unavailable", message: "verification out of time" } as const;
const outOfTime: SettleOutcome = { kind: "unknown", message: "settlement out of time" };

function unknownOutcome() {
  return unavailable("settlement outcome unknown; do not pay again, retry this request later");
}

/** Every header value here is one we made or validated: base64, an address checked by the schema, a Secret checked when read. */
function pass({ route, accept, payment }: PaymentContext, transaction: string, credentials: string | undefined): Decision {
  const payer = payment.authorization.from;
  const settlement = { success: true, transaction, network: networkIdFor(payment.version, accept.network), payer };
  const headers: Record<string, string> = { "x-payment-response": base64Json(settlement), "x-payment-payer": payer };
  if (credentials !== undefined) headers.authorization = credentials;
  return { route, answer: allowed(headers) };
}

function refuse(route: PricedRoute, resource: string, reason: string, message: string, deps: VerifierDeps): Decision {
  return { route, answer: paymentRefused(route, resource, reason, message, deps) };
}

function paymentRefused(route: PricedRoute, resource: string, reason: string, message: string, deps: VerifierDeps): Answer {
  deps.metrics?.refused(route, reason);
  return paymentRequired(route, resource, `${reason}: ${message}`);
}
