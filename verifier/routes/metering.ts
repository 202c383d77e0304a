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
 * The most tokens a request may use, within the route's cap: every completion it asks for
 * (the larger of max_tokens and max_completion_tokens, as servers differ in which wins; times
 * n or best_of; times the prompts of a batch) plus its prompt, counted as its length in bytes
 * (no tokenizer makes more tokens than bytes of text). Whatever this cannot bound (a field it
 * cannot read as a count, a part that is not text, such as an image) makes it the cap.
 */
export function maxTokensFor(body: unknown, bodyBytes: number, cap: number): number {
  if (typeof body !== "object" || body === null) return cap;
  const b = body as Record<string, unknown>;
  const counts = [b.max_tokens, b.max_completion_tokens, b.n, b.best_of];
  if (counts.some((c) => c !== undefined && c !== null && !isCount(c))) return cap;
  const asked = Math.max(...[b.max_tokens, b.max_completion_tokens].filter(isCount));
  if (!Number.isFinite(asked)) return cap; // neither asked: as much as the route allows
  const copies = Math.max(1, ...[b.n, b.best_of].filter(isCount)) * (Array.isArray(b.prompt) ? Math.max(1, b.prompt.length) : 1);
  if (Array.isArray(b.messages) && b.messages.some(hasNonTextPart)) return cap;
  return Math.min(cap, asked * copies + bodyBytes);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

function hasNonTextPart(message: unknown): boolean {
  const content = typeof message === "object" && message !== null ? (message as { content?: unknown }).content : undefined;
  return Array.isArray(content) && content.some((part) => typeof part !== "object" || part === null || (part as { type?: unknown }).type !== "text");
}

