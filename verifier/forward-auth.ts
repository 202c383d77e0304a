// The ForwardAuth decision for one request, from headers to answer. Traefik calls this
// for every request to a paid route; the order of the checks is the order of their cost.
import type { Logger } from "../adapters/log.ts";
import { networkIdFor } from "../core/networks.ts";
import { allowed, type Answer, base64Json, paymentRequired, paymentRequiredAnswer, refused, resourceUrl } from "./answer.ts";
import { checkPayment } from "./check-payment.ts";
import type { Facilitator, PaymentContext } from "./facilitator.ts";
import { normalizePath } from "./normalize-path.ts";
import { decodePaymentHeader } from "./payment-header.ts";
import type { PricedRoute } from "./priced-route.ts";
import { type ReplayGuard, type Reservation, reservationKey } from "./replay-guard.ts";
import type { RouteTable } from "./route-table.ts";
import type { VerifierMetrics } from "./verifier-metrics.ts";

export type Mode = "settle" | "verify-only";

export type VerifierDeps = {
  routes(): RouteTable<PricedRoute>;
  /** The admitted route of the PaymentRoute "namespace/name", for requests that name theirs. */
  routeByKey?(key: string): PricedRoute | undefined;
  facilitator: Facilitator;
  guard: ReplayGuard;
  mode: Mode;
  nowSeconds(): bigint;
  /** The Authorization value to send upstream, from the route's Secret: absent when it has none, an Error when it cannot be read. */
  upstreamAuthorization(route: PricedRoute): Promise<string | undefined | Error>;
  log: Logger;
  metrics?: VerifierMetrics;
};

export type Decision = { answer: Answer; route?: PricedRoute };

/** Seconds a client should wait before retrying an unhealthy upstream or an unknown outcome. */
export const RETRY_AFTER_SECONDS = "15";

/**
 * Synchronous until a payment has to be checked: the unpaid 402 (the common answer) allocates no promise.
 * `via`: the PaymentRoute an offer's Middleware names in its ForwardAuth address. A request
 * that came through it belongs to that offer, so it is never free: while an offer's path
 * changes, Traefik and the verifier learn of it at different moments, and a path the table
 * does not (or no longer) know is charged at that route's price, or refused while the
 * route is not served.
 */
export function forwardAuth(header: (name: string) => string | null, deps: VerifierDeps, via?: string): Decision | Promise<Decision> {
  const uri = header("x-forwarded-uri");
  if (uri === null) return { answer: refused(403, "missing X-Forwarded-Uri: the verifier only answers Traefik ForwardAuth requests") };
  const path = normalizePath(uri);
  if (!path.ok) return { answer: refused(400, path.reason) };
  const route = deps.routes().lookup(path.path) ?? (via === undefined ? undefined : deps.routeByKey?.(via));
  if (!route) {
    if (via === undefined) return { answer: allowed() };
    return { answer: refused(503, `PaymentRoute ${via} is not served yet; no payment was taken, retry later`, { "retry-after": RETRY_AFTER_SECONDS }) };
  }
  if (!route.upstreamHealthy) {
    return { route, answer: refused(503, "the service behind this route is unavailable; no payment was taken", { "retry-after": RETRY_AFTER_SECONDS }) };
  }

  const resource = resourceUrl(header("x-forwarded-proto"), header("x-forwarded-host"), uri);
  const v2Header = header("payment-signature");
  const v1Header = v2Header === null ? header("x-payment") : null;
  if (v2Header === null && v1Header === null) return { route, answer: paymentRequiredAnswer(route, resource) };
  return decidePayment(route, resource, (v2Header ?? v1Header)!, v2Header !== null ? 2 : 1, deps);
}

async function decidePayment(route: PricedRoute, resource: string, paymentHeader: string, version: 1 | 2, deps: VerifierDeps): Promise<Decision> {
  const decoded = decodePaymentHeader(paymentHeader, version);
  if (!decoded.ok) return { route, answer: refused(400, decoded.reason) };
  const payment = decoded.payment;
  const now = deps.nowSeconds();
  const refusal = checkPayment(payment, route, now);
  if (refusal) return refuse(route, resource, refusal.reason, refusal.message, deps);

  // Read the upstream's credentials before taking money: no payment for a request we cannot deliver.
  const authorization = await deps.upstreamAuthorization(route);
  if (authorization instanceof Error) {
    deps.log.error("upstream credentials unavailable", { route: route.key, error: authorization.message });
    return { route, answer: refused(503, "the service's credentials are unavailable; no payment was taken", { "retry-after": RETRY_AFTER_SECONDS }) };
  }

  const { authorization: a } = payment;
  const key = reservationKey(route.network.chainId, route.network.asset, a.from, a.nonce);
  const context: PaymentContext = { payment, route, resource };
  let reservation = deps.guard.reserve(key, a.validBefore, now);
  if (!reservation.taken) {
    const resumed = await resumeHeld(reservation.held, context, key, authorization, deps);
    if (resumed) return resumed;
    reservation = deps.guard.reserve(key, a.validBefore, now);
    if (!reservation.taken) return refuse(route, resource, "payment_already_used", "this payment authorization was already used", deps);
  }
  try {
    return await verifyAndSettle(context, key, authorization, deps);
  } catch (error) {
    // An exception after reserving may have happened after sending: keep the reservation.
    deps.guard.mark(key, "unknown");
    deps.log.error("payment processing failed", { route: route.key, error: String(error) });
    return { route, answer: unknownOutcome() };
  }
}

/**
 * The same authorization again. Used (or in use) is refused; but after an unknown outcome
 * the buyer is retrying a payment that may have landed: find out, and serve it once if it
 * did, rather than ask for a second payment. Undefined: it did not land, start over.
 */
async function resumeHeld(held: Reservation, context: PaymentContext, key: string, authorization: string | undefined, deps: VerifierDeps): Promise<Decision | undefined> {
  const { route, resource, payment } = context;
  if (held.state !== "unknown") return refuse(route, resource, "payment_already_used", "this payment authorization was already used", deps);
  const resolution = (await deps.facilitator.resolve?.(context, held.transaction)) ?? { kind: "unknown" };
  if (resolution.kind === "unknown") return { route, answer: unknownOutcome() };
  if (resolution.kind === "not-settled") {
    deps.guard.release(key);
    return undefined;
  }
  deps.guard.mark(key, "done", resolution.transaction);
  deps.metrics?.settled(route);
  const settlement = { success: true, transaction: resolution.transaction ?? held.transaction ?? "", network: networkIdFor(payment.version, route.network), payer: payment.authorization.from };
  return pass(route, settlement, payment.authorization.from, authorization);
}

function unknownOutcome(): Answer {
  return refused(503, "settlement outcome unknown; do not pay again, retry this request later", { "retry-after": RETRY_AFTER_SECONDS });
}

async function verifyAndSettle(context: PaymentContext, key: string, authorization: string | undefined, deps: VerifierDeps): Promise<Decision> {
  const { route, resource, payment } = context;
  const verified = await deps.facilitator.verify(context);
  if (verified.kind !== "valid") {
    deps.guard.release(key);
    if (verified.kind === "unavailable") {
      deps.log.warn("payment verification unavailable", { route: route.key, message: verified.message });
      return { route, answer: refused(503, "payment verification is unavailable; retry later", { "retry-after": RETRY_AFTER_SECONDS }) };
    }
    return refuse(route, resource, verified.reason, verified.message, deps);
  }
  deps.metrics?.verified(route);
  const network = networkIdFor(payment.version, route.network);
  if (deps.mode === "verify-only") {
    deps.guard.mark(key, "done");
    return pass(route, { success: true, transaction: "", network, payer: verified.payer }, verified.payer, authorization);
  }
  const settled = await deps.facilitator.settle(context);
  if (settled.kind === "failed") {
    deps.guard.release(key);
    return refuse(route, resource, settled.reason, settled.message, deps);
  }
  if (settled.kind === "unknown") {
    deps.guard.mark(key, "unknown", settled.transaction);
    deps.log.error("settlement outcome unknown; the reservation is kept", { route: route.key, transaction: settled.transaction, message: settled.message });
    return { route, answer: unknownOutcome() };
  }
  deps.guard.mark(key, "done", settled.transaction);
  deps.metrics?.settled(route);
  return pass(route, { success: true, transaction: settled.transaction, network, payer: settled.payer }, settled.payer, authorization);
}

function pass(route: PricedRoute, settlement: object, payer: string, authorization: string | undefined): Decision {
  const headers: Record<string, string> = { "x-payment-response": base64Json(settlement), "x-payment-payer": payer };
  if (authorization !== undefined) headers.authorization = authorization;
  return { route, answer: allowed(headers) };
}

function refuse(route: PricedRoute, resource: string, reason: string, message: string, deps: VerifierDeps): Decision {
  deps.metrics?.refused(route, reason);
  return { route, answer: paymentRequired(route, resource, `${reason}: ${message}`) };
}
