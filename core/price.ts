// The effective per-request price of an offer, in exact atomic token units.
import { formatAtomic, toAtomicCeil, toAtomicExact } from "./decimal.ts";
import type { FieldIssue } from "./field-issues.ts";
import { MAX_UINT256 } from "./payment-route.ts";
import type { Price } from "./service-offer.ts";

/** A perMTok price covers this many tokens per request. */
export const TOKENS_PER_REQUEST = 1000;
/** A perHour price covers this many seconds per request. */
export const SECONDS_PER_REQUEST = 300;

export type PriceModel = "perRequest" | "perMTok" | "perHour";

export type EffectivePrice = {
  model: PriceModel;
  /** Atomic units charged per request. */
  amount: bigint;
  /** The same amount as a token decimal, e.g. "0.001". */
  decimal: string;
};


export type PriceResult = { ok: true; price: EffectivePrice } | { ok: false; issue: FieldIssue };

const refused = (field: string, message: string): PriceResult => ({ ok: false, issue: { field, message } });

/** perRequest wins over perMTok, which wins over perHour (the order the Go version used). */
export function effectivePrice(price: Price, decimals: number, field = "spec.payment.price"): PriceResult {
  if (price.perRequest !== undefined) {
    const amount = toAtomicExact(price.perRequest, decimals);
    if (typeof amount !== "bigint") {
      return refused(`${field}.perRequest`, `has more than ${decimals} decimals, finer than the token's smallest unit (got "${price.perRequest}")`);
    }
    return positive(field, "perRequest", price.perRequest, amount, decimals);
  }
  if (price.perMTok !== undefined) {
    return derived(field, "perMTok", price.perMTok, decimals, 1n, BigInt(1_000_000 / TOKENS_PER_REQUEST));
  }
  return derived(field, "perHour", price.perHour ?? "", decimals, BigInt(SECONDS_PER_REQUEST), 3600n);
}

function derived(field: string, model: PriceModel, text: string, decimals: number, multiplier: bigint, divisor: bigint): PriceResult {
  const amount = toAtomicCeil(text, decimals, multiplier, divisor);
  if (typeof amount !== "bigint") return refused(`${field}.${model}`, `must be a decimal number (got "${text}")`);
  return positive(field, model, text, amount, decimals);
}

function positive(field: string, model: PriceModel, text: string, amount: bigint, decimals: number): PriceResult {
  if (amount <= 0n) return refused(`${field}.${model}`, `must be greater than 0 (got "${text}")`);
  if (amount > MAX_UINT256) return refused(`${field}.${model}`, `is too large: more than 2^256-1 atomic units, the most a token transfer can carry (got "${text.slice(0, 80)}")`);
  return { ok: true, price: { model, amount, decimal: formatAtomic(amount, decimals) } };
}
