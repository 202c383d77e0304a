// Delivering a metered (upto) answer, then charging what it used. A JSON answer is read
// whole (bounded in size and time), its usage charged, and it is served with the receipt in
// PAYMENT-RESPONSE, as the official clients read it. A streamed answer (server-sent events)
// is passed on chunk by chunk, never held back; the usage comes in its last event, so it is
// charged once the stream ends, and the receipt follows as a final SSE comment line
// (": x402-payment-response <base64>"), which event-stream parsers skip. A buyer who leaves
// mid-stream is charged for the usage the upstream reports (it is read on, briefly, to find
// it), or nothing. Every charge is rounded up to the token's smallest unit and never above
// what was authorized; no usage reported is no charge. A stream is delivered before it is
// settled, so however its settlement ends, its permit counts as used: it never buys a second
// answer.
import { beforeDeadline, deadlineAfter, TIMED_OUT } from "../adapters/deadline.ts";
import type { Decision, VerifierDeps } from "./deps.ts";
import { readAtMost } from "../adapters/read-at-most.ts";
import { letGoVerified, settleVerified } from "./paid-request.ts";
import type { Verified } from "./payment-outcomes.ts";
import { tokenCost } from "./routes/metering.ts";
import { endToEnd, OURS } from "./upstream-call.ts";
import { sseUsageMeter, usageOfJson } from "./usage-meter.ts";

/** A JSON answer larger than this cannot be metered here: refused, nothing charged. */
export const MAX_METERED_ANSWER_BYTES = 16 << 20;
/** After the buyer left a stream: how long, and how much more, is read to find its usage. */
const DRAIN_MS = 5000;
const DRAIN_BYTES = 1 << 20;
const DERIVED = new Set(["content-length", "content-encoding", ...OURS]);

export async function deliverMetered(verified: Verified, upstream: Response, deps: VerifierDeps & { upstreamTimeoutMs: number }): Promise<Response> {
  const streamed = (upstream.headers.get("content-type") ?? "").toLowerCase().includes("text/event-stream");
  return streamed ? streamThenCharge(verified, upstream, deps) : chargeThenServe(verified, upstream, deps);
}

/** Charges `tokens` (none reported: nothing) and settles, within a budget of its own. */
function charge(verified: Verified, tokens: number | undefined, deps: VerifierDeps): Promise<Decision> {
  const { context } = verified.paid;
  const metering = context.route.metering!;
  if (tokens === undefined) deps.log.warn("metered answer reported no usage; nothing charged", { route: context.route.key });
  context.charge = tokens === undefined ? 0n : minOf(tokenCost(metering, tokens), context.accept.amount);
  return settleVerified(verified, deps, deadlineAfter(deps.answerTimeoutMs ?? 25_000));
}

async function chargeThenServe(verified: Verified, upstream: Response, deps: VerifierDeps & { upstreamTimeoutMs: number }): Promise<Response> {
  let body: Uint8Array<ArrayBuffer> | undefined | typeof TIMED_OUT;
  try {
    body = upstream.body ? await beforeDeadline(deadlineAfter(deps.upstreamTimeoutMs), readAtMost(upstream.body, MAX_METERED_ANSWER_BYTES)) : new Uint8Array(0);
  } catch (error) {
    // Broken off before the answer was whole: nothing delivered, nothing charged.
    await letGoVerified(verified, deps);
    deps.log.warn("metered answer broke off; nothing charged", { route: verified.paid.context.route.key, error: String(error) });
    return json(502, "the service's answer broke off; no payment was taken");
  }
  if (body === undefined || body === TIMED_OUT) {
    await letGoVerified(verified, deps);
    return json(body === TIMED_OUT ? 504 : 502, body === TIMED_OUT ? "the service's answer took too long; no payment was taken" : "the service's answer is too large to meter; no payment was taken");
  }
  const decision = await charge(verified, usageOfJson(new TextDecoder().decode(body)), deps);
  if (decision.answer.status !== 200) return new Response(decision.answer.body, { status: decision.answer.status, headers: decision.answer.headers });
  const headers = endToEnd(upstream.headers, DERIVED);
  headers.set("payment-response", decision.answer.headers["x-payment-response"]!);
  return new Response(body, { status: upstream.status, headers });
}

function streamThenCharge(verified: Verified, upstream: Response, deps: VerifierDeps): Response {
  const meter = sseUsageMeter();
  const reader = upstream.body!.getReader();
  let charged: Promise<Decision> | undefined;
  const chargeOnce = () => (charged ??= charge(verified, meter.tokens, deps).then(async (decision) => {
    if (decision.answer.status !== 200) await holdAsUsed(verified, decision, deps);
    // Delivered and settled, only not recorded: counted here, as no retry will come to resume it.
    if (decision.settled) deps.metrics?.settled(verified.paid.context.route, verified.paid.context.accept, verified.paid.context.charge);
    return decision;
  }));
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        // The upstream broke off: charged for the usage it reported by then, if any.
        await chargeOnce();
        controller.error(error);
        return;
      }
      if (!chunk.done) {
        meter.feed(chunk.value);
        controller.enqueue(chunk.value);
        return;
      }
      const decision = await chargeOnce();
      const receipt = decision.answer.headers["x-payment-response"] ?? decision.settled?.receipt;
      if (receipt !== undefined) controller.enqueue(new TextEncoder().encode(`: x402-payment-response ${receipt}\n\n`));
      controller.close();
    },
    cancel() {
      // The buyer left: the upstream is read on, briefly, for the usage it reports (its last
      // event may trail the content the buyer already has), then stopped, and that is charged.
      void drain(reader, meter).then(chargeOnce).catch((error) => deps.log.error("metered stream charge failed", { route: verified.paid.context.route.key, error: String(error) }));
    },
  });
  return new Response(stream, { status: upstream.status, headers: endToEnd(upstream.headers, DERIVED) });
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, meter: ReturnType<typeof sseUsageMeter>): Promise<void> {
  const until = deadlineAfter(DRAIN_MS);
  let read = 0;
  try {
    // Usage comes once, at the end: when it has been seen, there is nothing more to learn.
    while (meter.tokens === undefined && read < DRAIN_BYTES) {
      const chunk = await beforeDeadline(until, reader.read());
      if (chunk === TIMED_OUT || chunk.done) break;
      read += chunk.value.byteLength;
      meter.feed(chunk.value);
    }
  } catch {
    // broken off: what was reported by then is all there is
  }
  await reader.cancel().catch(() => undefined);
}

/** The answer was delivered before its settlement failed or went unknown: its permit stays used. */
async function holdAsUsed({ paid }: Verified, decision: Decision, deps: VerifierDeps): Promise<void> {
  const { key, context } = paid;
  await deps.guard.reserve(key, context.payment.authorization.validBefore, deps.nowSeconds(), "delivered").catch(() => undefined);
  await deps.guard.mark(key, "done");
  deps.log.error("metered stream delivered, settlement not confirmed; its permit stays used", { route: context.route.key, status: decision.answer.status });
}

function minOf(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function json(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), { status, headers: { "content-type": "application/json" } });
}
