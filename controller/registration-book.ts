// The registrar's own fields of an offer's status (agentId, registrationTxHash, registration),
// read strictly and apart from the rest: a status is anyone's to write who may write it, and
// bookkeeping that cannot be read is reported, never guessed at (a guess could register twice).
import * as v from "valibot";
import type { RegistrationBook } from "../core/registration-plan.ts";

const BookSchema = v.object({
  agentId: v.optional(v.pipe(v.string(), v.regex(/^\d{1,78}$/))),
  registrationTxHash: v.optional(v.string()),
  registration: v.optional(v.object({
    uri: v.optional(v.string()),
    pending: v.optional(v.object({ account: v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{40}$/)), nonce: v.pipe(v.number(), v.integer(), v.minValue(0)), transaction: v.string(), raw: v.string() })),
    tombstoned: v.optional(v.boolean()),
  })),
});

/** The registrar's own status fields, read apart from the rest: unreadable ones are never guessed at. */
export function bookOf(raw: unknown): { book?: RegistrationBook; agentId?: string; transaction?: string; problem?: string; kept: { agentId?: string; transaction?: string } } {
  const parsed = v.safeParse(BookSchema, raw ?? {});
  const loose = (raw ?? {}) as { agentId?: unknown; registrationTxHash?: unknown };
  const kept = { agentId: typeof loose.agentId === "string" ? loose.agentId : undefined, transaction: typeof loose.registrationTxHash === "string" ? loose.registrationTxHash : undefined };
  if (!parsed.success) return { problem: parsed.issues.map((i) => `${v.getDotPath(i) ?? "status"}: ${i.message}`).join("; ").slice(0, 300), kept };
  const { agentId, registrationTxHash, registration } = parsed.output;
  return { book: registration ?? {}, agentId, transaction: registrationTxHash, kept };
}
