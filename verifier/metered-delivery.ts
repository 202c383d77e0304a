// Delivering a metered (upto) answer, then charging what it used. A JSON answer is read
// whole (bounded), its usage charged, and it is served with the receipt in PAYMENT-RESPONSE,
// as the official clients read it. A streamed answer (server-sent events) is passed on chunk
// by chunk, never held back; the usage comes in its last event, so it is charged once the
// stream ends, and the receipt follows as a final SSE comment line
// (": x402-payment-response <base64>"), which event-stream parsers skip. A buyer who leaves
// mid-stream is charged for the usage the upstream reported by then, or nothing. Every
// charge is rounded up to the token's smallest unit and never above what was authorized;
// no usage reported is no charge.
import { deadlineAfter } from "../adapters/deadline.ts";
import type { Decision, VerifierDeps } from "./deps.ts";
import { readAtMost } from "./metered-request.ts";
import { settleVerified } from "./paid-request.ts";
import type { Verified } from "./payment-outcomes.ts";
import { tokenCost } from "./routes/metering.ts";
import { endToEnd } from "./upstream-call.ts";
import { sseUsageMeter, usageOfJson } from "./usage-meter.ts";

/** A JSON answer larger than this cannot be metered here: refused, nothing charged. */
export const MAX_METERED_ANSWER_BYTES = 16 << 20;
const DERIVED = new Set(["content-length", "content-encoding"]);

export async function deliverMetered(verified: Verified, upstream: Response, deps: VerifierDeps): Promise<Response> {
  const streamed = (upstream.headers.get("content-type") ?? "").includes("text/event-stream");
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

async function chargeThenServe(verified: Verified, upstream: Response, deps: VerifierDeps): Promise<Response> {
  const body = upstream.body ? await readAtMost(upstream.body, MAX_METERED_ANSWER_BYTES) : new Uint8Array(0);
  if (!body) {
    const decision = await charge(verified, undefined, deps);
    return json(502, decision.answer.status === 200 ? "the service's answer is too large to meter; nothing was charged" : JSON.parse(decision.answer.body).error);
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
  const chargeOnce = () => (charged ??= charge(verified, meter.tokens, deps));
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
      const receipt = decision.answer.headers["x-payment-response"];
      if (receipt !== undefined) controller.enqueue(new TextEncoder().encode(`: x402-payment-response ${receipt}\n\n`));
      controller.close();
    },
    async cancel() {
      // The buyer left: the upstream is stopped, and what it reported by then is charged.
      await reader.cancel().catch(() => undefined);
      await chargeOnce();
    },
  });
  return new Response(stream, { status: upstream.status, headers: endToEnd(upstream.headers, DERIVED) });
}

function minOf(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function json(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), { status, headers: { "content-type": "application/json" } });
}
