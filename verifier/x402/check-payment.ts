// The checks that need no chain: does this payment pay this route, now? Reasons use the
// x402 error vocabulary so that clients can show them.
import { networkIdFor } from "../../core/networks.ts";
import { canonicalJson } from "../../core/yaml-order.ts";
import type { PaymentAttempt } from "./payment-header.ts";
import type { PricedRoute } from "../routes/priced-route.ts";
import { REASON } from "./reasons.ts";

/** A facilitator needs time to land the transfer before the authorization expires. */
export const MIN_SECONDS_LEFT = 6n;
/**
 * Clients sign validBefore = now + maxTimeoutSeconds; this much clock skew is tolerated on
 * top. An authorization valid for longer is refused: its reservation would be held as long.
 */
export const MAX_CLOCK_SKEW_SECONDS = 600n;

export type Refusal = { reason: string; message: string };

export function checkPayment(payment: PaymentAttempt, route: PricedRoute, nowSeconds: bigint): Refusal | undefined {
  const { authorization: a } = payment;
  if (payment.scheme !== "exact") return { reason: "unsupported_scheme", message: `scheme "${payment.scheme}" is not offered; use "exact"` };
  const network = networkIdFor(payment.version, route.network);
  if (payment.network !== network) return { reason: REASON.invalidNetwork, message: `this route is paid on ${network}, not ${payment.network}` };
  if (payment.accepted && canonicalJson(payment.accepted) !== canonicalJson(route.v2Requirement)) {
    return { reason: REASON.invalidRequirements, message: "the accepted requirement is not the one this route offers" };
  }
  if (a.to.toLowerCase() !== route.payTo.toLowerCase()) {
    return { reason: REASON.recipientMismatch, message: `payment must go to ${route.payTo}` };
  }
  if (a.value !== route.amount) {
    return { reason: REASON.valueMismatch, message: `payment must be exactly ${route.amount} atomic units` };
  }
  if (a.validAfter > nowSeconds) {
    return { reason: REASON.validAfter, message: "authorization is not valid yet" };
  }
  if (a.validBefore < nowSeconds + MIN_SECONDS_LEFT) {
    return { reason: REASON.validBefore, message: "authorization expired or expires too soon to settle" };
  }
  if (a.validBefore > nowSeconds + BigInt(route.maxTimeoutSeconds) + MAX_CLOCK_SKEW_SECONDS) {
    return { reason: REASON.validBefore, message: `authorization valid for too long: at most ${route.maxTimeoutSeconds} s from now` };
  }
  return undefined;
}
