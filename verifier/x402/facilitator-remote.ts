// A remote x402 facilitator over its HTTP API (POST /verify, POST /settle). Its answers
// are hostile input: they are parsed with schemas, and only a well-formed refusal with a
// reason known to mean "nothing moved" is a failure. An error page, a truncated body, a
// 429, a timeout, a reason we do not know: the settlement may have happened, so the
// outcome is unknown (503, the hold kept), never a 402 that would make the buyer pay twice.
import * as v from "valibot";
import { beforeDeadline, TIMED_OUT } from "../../adapters/deadline.ts";
import { readAtMost } from "../../adapters/read-at-most.ts";
import type { Facilitator, PaymentContext, Resolution, SettleOutcome, VerifyOutcome } from "./facilitator.ts";
import { payloadFor, requirementFor, settlementRequirementFor } from "./facilitator.ts";
import { REASON, sanitizeReason, settleFailureIsDefinite } from "./reasons.ts";

export type RemoteFacilitatorOptions = { url: string; headers?: Record<string, string> };

const VerifyResponse = v.object({ isValid: v.boolean(), invalidReason: v.optional(v.string()), invalidMessage: v.optional(v.string()) });
const SettleResponse = v.object({
  success: v.boolean(),
  errorReason: v.optional(v.string()),
  errorMessage: v.optional(v.string()),
  transaction: v.optional(v.string()),
});
const TX_HASH = /^0x[0-9a-fA-F]{64}$/;
/** Statuses that say "not now" about the request itself: whatever the body says, nothing is settled by them. */
const RETRY_LATER = new Set([408, 425, 429]);

/** https only, except on loopback where nothing crosses a network. */
export function checkFacilitatorUrl(text: string): URL {
  const url = new URL(text);
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || url.hostname.startsWith("127.");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new Error(`facilitator URL must use https (http is allowed on loopback only): ${text}`);
  }
  return url;
}

type Reply = { status: number; body: unknown; excerpt: string } | { failure: string };

/** An honest answer is a few hundred bytes; a longer one is malformed, and is not read into memory. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The answer's text, or undefined when it is longer than `limit`. */
async function textAtMost(response: Response, limit: number): Promise<string | undefined> {
  if (!response.body) return "";
  const bytes = await readAtMost(response.body, limit);
  return bytes && new TextDecoder().decode(bytes);
}

export function remoteFacilitator(options: RemoteFacilitatorOptions): Facilitator {
  const base = checkFacilitatorUrl(options.url).toString().replace(/\/$/, "");
  const call = async (path: string, context: PaymentContext): Promise<Reply> => {
    const work = (async () => {
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...options.headers },
        body: JSON.stringify({ x402Version: context.payment.version, paymentPayload: payloadFor(context), paymentRequirements: path === "/settle" ? settlementRequirementFor(context) : requirementFor(context) }),
        signal: AbortSignal.timeout(Math.max(1, context.deadline.remainingMs())),
      });
      const text = await textAtMost(response, MAX_ANSWER_BYTES);
      let body: unknown;
      try {
        body = text === undefined ? undefined : JSON.parse(text);
      } catch {
        body = undefined; // judged as malformed below
      }
      return { status: response.status, body, excerpt: text === undefined ? `(more than ${MAX_ANSWER_BYTES} bytes)` : sanitizeReason(text.slice(0, 1000), "(empty)") };
    })();
    try {
      const reply = await beforeDeadline(context.deadline, work);
      return reply === TIMED_OUT ? { failure: `facilitator ${path}: out of time` } : reply;
    } catch (error) {
      return { failure: `facilitator ${path}: ${(error as Error).message}` };
    }
  };

  const settle = async (context: PaymentContext): Promise<SettleOutcome> => {
    // upto with nothing used: nothing to send (the facilitator would send nothing either).
    if (context.accept.scheme === "upto" && context.charge === 0n) return { kind: "settled", transaction: "" };
    const reply = await call("/settle", context);
    if ("failure" in reply) return { kind: "unknown", message: reply.failure };
    const parsed = v.safeParse(SettleResponse, reply.body);
    const judged = (reply.status === 200 || (reply.status >= 400 && reply.status < 500 && !RETRY_LATER.has(reply.status))) && parsed.success;
    if (!judged) return { kind: "unknown", message: `facilitator /settle answered ${reply.status}: ${reply.excerpt}` };
    const { success, errorReason, errorMessage } = parsed.output;
    const transaction = TX_HASH.test(parsed.output.transaction ?? "") ? parsed.output.transaction : undefined;
    if (success && reply.status === 200) return { kind: "settled", transaction: transaction ?? "" };
    const reason = sanitizeReason(errorReason, "settlement_failed");
    const message = sanitizeReason(errorMessage, reason);
    if (!success && settleFailureIsDefinite(reason, context.retry)) return { kind: "failed", reason, message };
    return { kind: "unknown", reason, message: `facilitator /settle: ${reason}: ${message}`, transaction };
  };

  const verify = async (context: PaymentContext): Promise<VerifyOutcome> => {
    const reply = await call("/verify", context);
    if ("failure" in reply) return { kind: "unavailable", message: reply.failure };
    const parsed = v.safeParse(VerifyResponse, reply.body);
    if (reply.status !== 200 || !parsed.success) return { kind: "unavailable", message: `facilitator /verify answered ${reply.status}: ${reply.excerpt}` };
    if (parsed.output.isValid) return { kind: "valid" };
    const reason = sanitizeReason(parsed.output.invalidReason, REASON.invalidPayment);
    return { kind: "invalid", reason, message: sanitizeReason(parsed.output.invalidMessage, reason) };
  };

  return {
    verify,
    settle,
    /**
     * Without a chain to read, the facilitator is asked. If verifying the same payment again
     * finds its nonce unused, settling it again either lands it now or (the official v2
     * facilitator) waits for its own pending transaction: settled means paid. A used nonce
     * proves nothing here: the buyer may have canceled the authorization, or spent the nonce
     * on another transfer. Only the chain can tell (--rpc): until then the outcome stays unknown.
     */
    async resolve(context): Promise<Resolution> {
      const check = await verify(context);
      if (check.kind !== "valid") return { kind: "unknown", message: check.kind === "invalid" ? `${check.reason} (only the chain can tell whose transfer used it: give --rpc)` : check.message };
      const outcome = await settle({ ...context, retry: true });
      if (outcome.kind === "settled") return { kind: "settled", transaction: outcome.transaction || undefined };
      return { kind: "unknown", message: outcome.kind === "failed" ? outcome.reason : outcome.message };
    },
  };
}

/**
 * The accounts a remote facilitator settles upto payments with, by network (CAIP-2), from one
 * read of its /supported: the buyer's permit must name it. A network missing (it settles no
 * upto there, or it did not answer) gets no upto accept in the 402.
 */
export async function remoteMeteredSettlers(options: RemoteFacilitatorOptions): Promise<Map<string, `0x${string}`>> {
  const settlers = new Map<string, `0x${string}`>();
  try {
    const response = await fetch(`${checkFacilitatorUrl(options.url).toString().replace(/\/$/, "")}/supported`, { headers: options.headers, signal: AbortSignal.timeout(5000) });
    const text = await textAtMost(response, MAX_ANSWER_BYTES);
    const body = v.safeParse(SupportedResponse, text === undefined ? undefined : JSON.parse(text));
    for (const kind of body.success ? body.output.kinds : []) {
      const address = kind.extra?.facilitatorAddress;
      if (kind.scheme === "upto" && typeof address === "string" && /^0x[0-9a-fA-F]{40}$/.test(address)) settlers.set(kind.network, address as `0x${string}`);
    }
  } catch {
    // not answered: no upto offered
  }
  return settlers;
}

const SupportedResponse = v.object({
  kinds: v.array(v.looseObject({ scheme: v.string(), network: v.string(), extra: v.optional(v.looseObject({ facilitatorAddress: v.optional(v.unknown()) })) })),
});
