// Who checks signatures and moves the money: in-process (viem, our own chain client) or a
// remote x402 facilitator. Each outcome says exactly what is known, because "settlement
// failed" and "we do not know" must be answered differently (402 vs 503).
import type { Deadline } from "./deadline.ts";
import type { PaymentAttempt } from "./payment-header.ts";
import type { PricedRoute } from "./priced-route.ts";

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
  resource: string;
  /** Every call made for this payment ends by then. */
  deadline: Deadline;
  /** The signature was recovered locally and names the payer; false: a smart wallet's, for the chain to judge. */
  signedByPayer: boolean;
  /** A retry after an unknown outcome: a used nonce may be our own earlier transfer, so it proves nothing. */
  retry?: boolean;
};

export type Resolution =
  | { kind: "settled"; transaction?: string }
  /** It did not land and never will under this attempt: settle it afresh. */
  | { kind: "not-settled" }
  | { kind: "unknown"; message: string };

export type Facilitator = {
  verify(context: PaymentContext): Promise<VerifyOutcome>;
  settle(context: PaymentContext): Promise<SettleOutcome>;
  /** After an unknown outcome: did that payment land? */
  resolve(context: PaymentContext, transaction?: string): Promise<Resolution>;
};

/** The requirement in the wire format of the payment's own protocol version. */
export function requirementFor({ payment, route, resource }: Pick<PaymentContext, "payment" | "route" | "resource">): Record<string, unknown> {
  if (payment.version === 2) return route.v2Requirement;
  return JSON.parse(`${route.v1RequirementHead}${JSON.stringify(resource)}${route.v1RequirementTail}`) as Record<string, unknown>;
}
