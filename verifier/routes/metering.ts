// Metered prices (x402 `upto`): a rate per million tokens, a cap per request, and the
// charge for what a request used: rounded up to the token's smallest unit, never above the
// cap, nothing for nothing.
import { toAtomicExact } from "../../core/decimal.ts";

/** What a route meters by: its rate, and the most tokens one request may be charged for. */
export type Metering = { perMTokAtomic: bigint; maxTokens: number };

/** The route's perMTok price in atomic units per million tokens, or undefined when the token cannot express it. */
export function perMTokAtomic(perMTok: string, decimals: number): bigint | undefined {
  const atomic = toAtomicExact(perMTok, decimals);
  return typeof atomic === "bigint" && atomic > 0n ? atomic : undefined;
}

/** The charge for `tokens`: rounded up to the smallest unit. */
export function tokenCost(metering: Metering, tokens: number): bigint {
  const used = BigInt(Math.max(0, Math.min(Math.floor(tokens), metering.maxTokens)));
  return (used * metering.perMTokAtomic + 999_999n) / 1_000_000n;
}

/**
 * The most tokens a request may use: what it asks to generate (max_tokens, or
 * max_completion_tokens; the route's cap when it says neither) plus its prompt, counted as
 * its length in bytes (no tokenizer makes more tokens than bytes), within the route's cap.
 */
export function maxTokensFor(body: unknown, bodyBytes: number, cap: number): number {
  const asked = typeof body === "object" && body !== null ? (body as Record<string, unknown>).max_tokens ?? (body as Record<string, unknown>).max_completion_tokens : undefined;
  const completion = typeof asked === "number" && Number.isSafeInteger(asked) && asked > 0 ? asked : cap;
  return Math.min(cap, completion + bodyBytes);
}

