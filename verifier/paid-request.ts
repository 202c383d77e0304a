// A request that carries a payment: decode; if we already hold this authorization, answer
// from what we know of it; else check what needs no chain (fields, then the signature),
// reserve it, verify; then settle (ForwardAuth: at once; the data path: once the upstream
// delivered) and only then let it through. payment-outcomes.ts holds the rules for money.
// Every wait takes its time from one deadline.
import { DEFAULT_NETWORKS, findNetwork, type Network, networkIdFor } from "../core/networks.ts";
import { refused, unavailable } from "./answer.ts";
import { checkPayment, chooseAccept, MAX_CLOCK_SKEW_SECONDS } from "./x402/check-payment.ts";
import { beforeDeadline, type Deadline, deadlineAfter, shorterOf, TIMED_OUT } from "../adapters/deadline.ts";
import type { Decision, VerifierDeps } from "./deps.ts";
import { decodePaymentHeader, type PaymentAttempt } from "./x402/payment-header.ts";
import { isCounterfactual, signerOf } from "./x402/payment-signature.ts";
import type { PricedAccept, PricedRoute } from "./routes/priced-route.ts";
import { PERMIT2 } from "./x402/permit2.ts";
import { ReplayStoreUnavailable, reservationKey } from "./replay-guard.ts";
import { REASON } from "./x402/reasons.ts";
import {
  type Admitted,
  answerKnown,
  type HeldRequest,
  keepInDoubt,
  letGo,
  type Paid,
  refuse,
  resume,
  settlePaid,
  unknownOutcome,
  type Verified,
  verifyPaid,
  waitForIt,
} from "./payment-outcomes.ts";

/** Traefik gives up at 30 s; this leaves room for the network on both sides. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 25_000;
/** How long a payment waits for a free slot before it is told to come back. */
const SLOT_WAIT_MS = 2000;


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

/** A paid request answered at once (ForwardAuth): admitted, then settled straight away. */
export async function decidePayment(route: PricedRoute, resource: string, header: string, version: 1 | 2, deps: VerifierDeps): Promise<Decision> {
  const admitted = await admitPayment(route, resource, header, version, deps);
  return admitted.kind === "verified" ? settleVerified(admitted, deps) : admitted.decision;
}

/**
 * Everything before the upstream is asked: decode, answer from what we know of a held
 * payment, check, reserve, verify (see Admitted). A "verified" result holds a payment slot
 * until settleVerified or letGoVerified.
 */
export async function admitPayment(route: PricedRoute, resource: string, header: string, version: 1 | 2, deps: VerifierDeps): Promise<Admitted> {
  try {
    return await admit(route, resource, header, version, deps);
  } catch (error) {
    // Only reading and taking holds can fail so (see ReplayGuard): before any payment is verified or sent.
    if (!(error instanceof ReplayStoreUnavailable)) throw error;
    deps.log.error("payment store unreachable; no payment taken", { route: route.key, error: error.message });
    return answer({ route, answer: unavailable(STORE_DOWN) });
  }
}

/** Neutral on purpose: the request may be a retry of a payment in doubt, which must not be paid again. */
const STORE_DOWN = "payments cannot be recorded right now; this request took no payment; retry it later and do not pay again for it";

async function admit(route: PricedRoute, resource: string, header: string, version: 1 | 2, deps: VerifierDeps): Promise<Admitted> {
  const deadline = deadlineAfter(deps.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS);
  const decoded = decodePaymentHeader(header, version);
  if (!decoded.ok) return answer({ route, answer: refused(400, decoded.reason) });
  const payment = decoded.payment;
  const a = payment.authorization;
  const now = deps.nowSeconds();
  const chosen = chooseAccept(payment, route);
  const key = replayKey(payment, deps.networks ?? DEFAULT_NETWORKS);
  // On a network the verifier does not know: never payable here, so never held either.
  if (!key) return answer(chosen.ok ? refuse(route, resource, REASON.invalidNetwork, `unknown network ${payment.network}`, deps) : refuse(route, resource, chosen.refusal.reason, chosen.refusal.message, deps));
  let accept = chosen.ok ? chosen.accept : undefined;
  const digest = paymentDigest(route, payment);
  const request: HeldRequest = { route, resource, digest };
  let signedByPayer = false;

  // Held already: answered from what we know of it, before checks that the clock or a price change could fail.
  let held = await deps.guard.peek(key, now);
  if (held) {
    const known = answerKnown(held, request, deps);
    if (known) return answer(known);
    // Our own unknown outcome, resumed on the terms it was made on, even if the price changed since.
    accept = chosen.ok ? chosen.accept : heldUnder(payment, route);
  } else {
    if (!chosen.ok) return answer(refuse(route, resource, chosen.refusal.reason, chosen.refusal.message, deps));
    accept = chosen.accept;
    const refusal = checkPayment(payment, accept, now);
    if (refusal) return answer(refuse(route, resource, refusal.reason, refusal.message, deps));
    const signer = await signerOf(payment, accept);
    if (signer !== "payer") {
      // Only a contract wallet may sign with a key that is not its address: a chain is asked (the
      // answers are cached and the reads bounded); without one, only a not-yet-deployed wallet's
      // (ERC-6492) signature goes on, for the facilitator to judge.
      const contract = deps.isContract ? await beforeDeadline(deadline, deps.isContract(accept.network, a.from).catch(() => TIMED_OUT)) : isCounterfactual(payment.signature);
      if (contract === TIMED_OUT) return answer({ route, answer: unavailable("the payer's wallet could not be checked; no payment was taken, retry later") });
      if (!contract) return answer(refuse(route, resource, REASON.signature, "the signature does not match the payer", deps));
    }
    signedByPayer = signer === "payer";
  }
  // Read the upstream's credentials before taking money: no payment for a request we cannot deliver.
  const credentials = await beforeDeadline(deadline, deps.upstreamAuthorization(route));
  if (credentials === TIMED_OUT || !credentials.ok) {
    deps.log.error("upstream credentials unavailable", { route: route.key, error: credentials === TIMED_OUT ? "out of time" : credentials.problem });
    return answer({ route, answer: unavailable("the service's credentials are unavailable; no payment was taken") });
  }
  if (!held) {
    const reservation = await deps.guard.reserve(key, a.validBefore, now, digest);
    if (!reservation.ok) {
      held = reservation.held;
      const known = answerKnown(held, request, deps);
      if (known) return answer(known);
    }
  }
  if (!accept) {
    // Held in doubt, and the route no longer offers its network and token: it cannot be resolved
    // here until it does again, and it may have landed, so the buyer is told to wait.
    deps.log.warn("a payment in doubt was made on terms its route no longer offers; it stays held", { route: route.key, network: payment.network });
    return answer({ route, answer: unknownOutcome() });
  }
  const paid: Paid = { context: { payment, route, accept, resource, deadline, signedByPayer }, key, credentials: credentials.authorization };
  if (held) {
    // Our own unknown outcome: claim it (one resolution however many retries), and find out.
    if (!(await deps.guard.claim(key, digest, now))) return answer(waitForIt(route));
    const resumed = await resume(paid, held.transaction, deps);
    if (resumed) return resumed;
    // Definitely not landed: from here it is a fresh attempt, but a used nonce may yet be ours.
    paid.context.retry = true;
    paid.context.signedByPayer = (await signerOf(payment, accept)) === "payer";
    const refusal = chosen.ok ? checkPayment(payment, accept, now) : chosen.refusal;
    if (refusal) {
      // Our earlier transfer may still land until the authorization expires for good: until then, wait.
      if (a.validBefore + MAX_CLOCK_SKEW_SECONDS >= now) return answer(await keepInDoubt(paid, deps));
      await deps.guard.release(key);
      return answer(refuse(route, resource, refusal.reason, refusal.message, deps));
    }
  }
  const release = deps.slots ? await deps.slots.acquire(shorterOf(deadline, Math.min(SLOT_WAIT_MS, deadline.remainingMs() / 4))) : () => {};
  if (!release) return answer(await letGo(paid, deps, () => unavailable("too many payments in progress; no payment was taken, retry later")));
  try {
    const verified = await verifyPaid(paid, deps);
    if (!verified) return { kind: "verified", paid, slot: release };
    release();
    return verified;
  } catch (error) {
    release();
    return answer(await inDoubtAfter(error, paid, deps));
  }
}

/**
 * Settles a verified payment (its slot, or a new one), within `deadline` when given (the data
 * path's own budget, counted from the upstream's answer).
 */
export async function settleVerified(verified: Verified, deps: VerifierDeps, deadline?: Deadline): Promise<Decision> {
  const { paid } = verified;
  if (deadline) paid.context.deadline = deadline;
  let release = verified.slot;
  verified.slot = undefined;
  if (!release) {
    const d = paid.context.deadline;
    release = deps.slots ? await deps.slots.acquire(shorterOf(d, Math.min(SLOT_WAIT_MS, d.remainingMs() / 4))) : () => {};
    if (!release) return letGo(paid, deps, () => unavailable("too many payments in progress; no payment was taken, retry later"));
  }
  try {
    return await settlePaid(paid, deps);
  } catch (error) {
    return await inDoubtAfter(error, paid, deps);
  } finally {
    release();
  }
}

/** A verified payment whose upstream did not deliver: nothing is settled, and the hold goes (or, in doubt, stays). */
export async function letGoVerified(verified: Verified, deps: VerifierDeps): Promise<void> {
  verified.slot?.();
  verified.slot = undefined;
  await letGo(verified.paid, deps, () => unavailable("the service did not deliver; no payment was taken"));
}

/** An exception after reserving may have happened after sending: keep the reservation. */
async function inDoubtAfter(error: unknown, { context, key }: Paid, deps: VerifierDeps): Promise<Decision> {
  await deps.guard.mark(key, "unknown");
  deps.log.error("payment processing failed", { route: context.route.key, error: String(error) });
  return { route: context.route, answer: unknownOutcome() };
}

function answer(decision: Decision): Admitted {
  return { kind: "answer", decision };
}
