// The checks that need no chain: which of the route's accepts does this payment choose, and
// does it pay that one, now? Reasons use the x402 error vocabulary so that clients can show them.
import { EXACT_PERMIT2_PROXY_ADDRESS, UPTO_PERMIT2_PROXY_ADDRESS } from "../../core/permit2.ts";
import { networkIdFor } from "../../core/networks.ts";
import { sameAddress } from "../../core/pay-to.ts";
import { canonicalJson } from "../../core/yaml-order.ts";
import type { PaymentAttempt } from "./payment-header.ts";
import type { PricedAccept, PricedRoute } from "../routes/priced-route.ts";
import { REASON } from "./reasons.ts";

/** A facilitator needs time to land the transfer before the authorization expires. */
export const MIN_SECONDS_LEFT = 6n;
/**
 * Clients sign validBefore = now + maxTimeoutSeconds; this much clock skew is tolerated on
 * top. An authorization valid for longer is refused: its reservation would be held as long.
 */
export const MAX_CLOCK_SKEW_SECONDS = 600n;

export type Refusal = { reason: string; message: string };

/**
 * The accept the buyer chose. v2 names it whole (`accepted`, compared by value with ours);
 * v1 names only a network, and can pay only by EIP-3009: the first such accept on it.
 */
export function chooseAccept(payment: PaymentAttempt, route: PricedRoute): { ok: true; accept: PricedAccept } | { ok: false; refusal: Refusal } {
  const onNetwork = route.accepts.filter((a) => networkIdFor(payment.version, a.network) === payment.network && (payment.version === 2 || a.v1Requirement));
  if (onNetwork.length === 0) {
    const offered = [...new Set(route.accepts.filter((a) => payment.version === 2 || a.v1Requirement).map((a) => networkIdFor(payment.version, a.network)))];
    const where = offered.length > 0 ? offered.join(", ") : "no network x402 v1 can pay (use x402 v2)";
    return { ok: false, refusal: { reason: REASON.invalidNetwork, message: `this route is paid on ${where}, not ${payment.network}` } };
  }
  if (payment.version === 1) return { ok: true, accept: onNetwork[0]! };
  const accepted = canonicalJson(payment.accepted);
  const accept = onNetwork.find((a) => canonicalJson(a.v2Requirement) === accepted);
  if (!accept) return { ok: false, refusal: { reason: REASON.invalidRequirements, message: "the accepted requirement is not one this route offers" } };
  return { ok: true, accept };
}

export function checkPayment(payment: PaymentAttempt, accept: PricedAccept, nowSeconds: bigint): Refusal | undefined {
  const { authorization: a } = payment;
  if (payment.scheme !== accept.scheme) return { reason: REASON.unsupportedScheme, message: `scheme "${payment.scheme}" is not the accept's "${accept.scheme}"` };
  const network = networkIdFor(payment.version, accept.network);
  if (payment.network !== network) return { reason: REASON.invalidNetwork, message: `this route is paid on ${network}, not ${payment.network}` };
  if (payment.method !== accept.asset.transferMethod) {
    return { reason: REASON.transferMethod, message: `${accept.asset.symbol} is paid by ${accept.asset.transferMethod} here, not ${payment.method}` };
  }
  if (payment.permit2) {
    const proxy = accept.scheme === "upto" ? UPTO_PERMIT2_PROXY_ADDRESS : EXACT_PERMIT2_PROXY_ADDRESS;
    if (!sameAddress(payment.permit2.spender, proxy)) {
      return { reason: REASON.permit2Spender, message: `the permit's spender must be the x402 ${accept.scheme} Permit2 proxy ${proxy}` };
    }
    // Only upto's witness names a facilitator, and then the one this route settles with.
    const facilitator = payment.permit2.facilitator;
    if (accept.scheme === "upto" ? facilitator === undefined || !sameAddress(facilitator, accept.facilitator ?? "") : facilitator !== undefined) {
      return { reason: REASON.permit2Facilitator, message: accept.scheme === "upto" ? `the permit's witness must name the facilitator ${accept.facilitator}` : "an exact permit's witness names no facilitator" };
    }
    if (!sameAddress(payment.permit2.token, accept.asset.address)) {
      return { reason: REASON.permit2Token, message: `the permit must be for ${accept.asset.symbol} (${accept.asset.address})` };
    }
  }
  if (!sameAddress(a.to, accept.payTo)) {
    return { reason: REASON.recipientMismatch, message: `payment must go to ${accept.payTo}` };
  }
  if (a.value !== accept.amount) {
    return { reason: REASON.valueMismatch, message: `payment must be exactly ${accept.amount} atomic units` };
  }
  if (a.validAfter > nowSeconds) {
    return { reason: REASON.validAfter, message: "authorization is not valid yet" };
  }
  if (a.validBefore < nowSeconds + MIN_SECONDS_LEFT) {
    return { reason: REASON.validBefore, message: "authorization expired or expires too soon to settle" };
  }
  if (a.validBefore > nowSeconds + BigInt(accept.maxTimeoutSeconds) + MAX_CLOCK_SKEW_SECONDS) {
    return { reason: REASON.validBefore, message: `authorization valid for too long: at most ${accept.maxTimeoutSeconds} s from now` };
  }
  return undefined;
}
