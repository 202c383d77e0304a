// Who checks signatures and moves the money: in-process (viem, our own chain client) or a
// remote x402 facilitator. Each outcome says exactly what is known, because "settlement
// failed" and "we do not know" must be answered differently (402 vs 503).
import type { Deadline } from "../../adapters/deadline.ts";
import type { PaymentAttempt } from "./payment-header.ts";
import { type PricedAccept, type PricedRoute, v1RequirementJson } from "../routes/priced-route.ts";
import { isPermit2 } from "./permit2.ts";

export type VerifyOutcome =
  | { kind: "valid" }
  | { kind: "invalid"; reason: string; message: string }
  /** Could not check (RPC or facilitator down, out of time): nothing was taken. */
  | { kind: "unavailable"; message: string };

export type SettleOutcome =
  | { kind: "settled"; transaction: string }
  /** Definitely not settled, for a reason about the payment: no money moved, the buyer may pay again. */
  | { kind: "failed"; reason: string; message: string }
  /** Definitely not sent (no RPC, out of time before sending): nothing moved, retry later. */
  | { kind: "unavailable"; message: string }
  /** Sent, or maybe sent, with no clear answer: money may have moved. Never answer 402 for this. */
  | { kind: "unknown"; message: string; transaction?: string; reason?: string };

export type PaymentContext = {
  payment: PaymentAttempt;
  route: PricedRoute;
  /** The terms the payment chose among the route's accepts: what is verified and settled. */
  accept: PricedAccept;
  /** upto: what the request used, to be settled (at most accept.amount; 0 settles nothing). */
  charge?: bigint;
  resource: string;
  /** Every call made for this payment ends by then. */
  deadline: Deadline;
  /** The signature was recovered locally and names the payer; false: a smart wallet's, for the chain to judge. */
  signedByPayer: boolean;
  /** A retry after an unknown outcome: a used nonce may be our own earlier transfer, so it proves nothing. */
  retry?: boolean;
};

export type Resolution =
  /** `amount`: what the chain shows it moved (an upto settlement may move less than authorized), where read. */
  | { kind: "settled"; transaction?: string; amount?: bigint }
  /**
   * It did not land. With `refusal`: it never can (its nonce went to a cancellation or to
   * another transfer), so the buyer is refused; without: settle it afresh.
   */
  | { kind: "not-settled"; refusal?: { reason: string; message: string } }
  | { kind: "unknown"; message: string };

export type Facilitator = {
  verify(context: PaymentContext): Promise<VerifyOutcome>;
  settle(context: PaymentContext): Promise<SettleOutcome>;
  /** After an unknown outcome: did that payment land? */
  resolve(context: PaymentContext): Promise<Resolution>;
};

/** The requirement in the wire format of the payment's own protocol version. */
export function requirementFor({ payment, accept, resource }: Pick<PaymentContext, "payment" | "accept" | "resource">): Record<string, unknown> {
  const v1 = payment.version === 1 ? v1RequirementJson(accept, resource) : undefined;
  return v1 === undefined ? accept.v2Requirement : JSON.parse(v1) as Record<string, unknown>;
}

/** What a settlement asks: for upto, the requirement's amount is what was used (x402 upto spec), not the maximum. */
export function settlementRequirementFor(context: Pick<PaymentContext, "payment" | "accept" | "resource" | "charge">): Record<string, unknown> {
  const requirement = requirementFor(context);
  return context.accept.scheme === "upto" && context.charge !== undefined ? { ...requirement, amount: String(context.charge) } : requirement;
}

/**
 * The payment as a facilitator is sent it: rebuilt from the fields the verifier checked,
 * never the buyer's JSON as it came, and in v2 with our own requirement as `accepted`.
 */
export function payloadFor({ payment, route, accept, resource }: Pick<PaymentContext, "payment" | "route" | "accept" | "resource">): Record<string, unknown> {
  const a = payment.authorization;
  const payload = isPermit2(payment)
    ? {
      signature: payment.signature,
      permit2Authorization: {
        from: a.from,
        permitted: { token: payment.permit2.token, amount: String(a.value) },
        spender: payment.permit2.spender,
        nonce: String(payment.permit2.nonce),
        deadline: String(a.validBefore),
        witness: payment.permit2.facilitator !== undefined
          ? { to: a.to, facilitator: payment.permit2.facilitator, validAfter: String(a.validAfter) }
          : { to: a.to, validAfter: String(a.validAfter) },
      },
    }
    : {
      signature: payment.signature,
      authorization: { from: a.from, to: a.to, value: String(a.value), validAfter: String(a.validAfter), validBefore: String(a.validBefore), nonce: a.nonce },
    };
  if (payment.version === 1) return { x402Version: 1, scheme: payment.scheme, network: payment.network, payload };
  return { x402Version: 2, resource: { url: resource, description: route.description, mimeType: route.mimeType }, accepted: accept.v2Requirement, payload };
}
