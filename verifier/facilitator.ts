// Who checks signatures and moves the money: in-process (viem, our own chain client) or a
// remote x402 facilitator. Each outcome says exactly what is known, because "settlement
// failed" and "we do not know" must be answered differently (402 vs 503).
import type { PaymentAttempt } from "./payment-header.ts";
import type { PricedRoute } from "./priced-route.ts";

export type VerifyOutcome =
  | { kind: "valid"; payer: string }
  | { kind: "invalid"; reason: string; message: string }
  /** Could not check (RPC or facilitator down): nothing was taken. */
  | { kind: "unavailable"; message: string };

export type SettleOutcome =
  | { kind: "settled"; transaction: string; payer: string }
  /** Definitely not settled: no money moved, the buyer may try again. */
  | { kind: "failed"; reason: string; message: string }
  /** Sent, or maybe sent, with no answer: money may have moved. Never answer 402 for this. */
  | { kind: "unknown"; message: string; transaction?: string };

export type PaymentContext = { payment: PaymentAttempt; route: PricedRoute; resource: string };

export type Resolution = { kind: "settled"; transaction?: string } | { kind: "not-settled" } | { kind: "unknown" };

export type Facilitator = {
  verify(context: PaymentContext): Promise<VerifyOutcome>;
  settle(context: PaymentContext): Promise<SettleOutcome>;
  /** After an unknown outcome: did that payment land? Absent when the facilitator cannot tell. */
  resolve?(context: PaymentContext, transaction?: string): Promise<Resolution>;
};

/** The requirement in the wire format of the payment's own protocol version. */
export function requirementFor({ payment, route, resource }: PaymentContext): Record<string, unknown> {
  if (payment.version === 2) return route.v2Requirement;
  return JSON.parse(`${route.v1RequirementHead}${JSON.stringify(resource)}${route.v1RequirementTail}`) as Record<string, unknown>;
}
