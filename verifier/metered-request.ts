// A request to a metered route (x402 `upto`), read before it is priced: its body decides the
// most it may cost (max_tokens, its own length), so the body is read (bounded) and the 402
// offers, beside the route's own terms, an upto accept for this very request. A buyer's
// retry with the same body meets the same accept; another body, another maximum.
import { readAtMost } from "../adapters/read-at-most.ts";
import { refused } from "./answer.ts";
import type { Answer } from "./answer.ts";
import { maxTokensFor } from "./routes/metering.ts";
import type { PricedAccept, PricedRoute } from "./routes/priced-route.ts";
import { askForUsage } from "./usage-meter.ts";
import { uptoAccept } from "./x402/upto.ts";

/** Chat and completion requests are far smaller; a larger body is refused rather than held in memory. */
export const MAX_METERED_BODY_BYTES = 1 << 20;

export type MeteredRequest = {
  /** The route with this request's upto accept, when it offers one. */
  route: PricedRoute;
  /** The body as read, to forward when paid by the route's own terms. */
  body?: Uint8Array<ArrayBuffer>;
  /** The body to forward when paid by upto: it asks a streamed answer for its usage. */
  meteredBody?: Uint8Array<ArrayBuffer>;
};

export async function readMeteredRequest(request: Request, route: PricedRoute, settler: `0x${string}` | undefined): Promise<{ ok: true; metered: MeteredRequest } | { ok: false; answer: Answer }> {
  if (!route.metering || !settler || request.method !== "POST" || request.body === null) return { ok: true, metered: { route } };
  const body = await readAtMost(request.body, MAX_METERED_BODY_BYTES);
  if (!body) return { ok: false, answer: { ...refused(400, `a metered request's body must be at most ${MAX_METERED_BODY_BYTES} bytes`), status: 413 } };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { ok: true, metered: { route, body } }; // not JSON: not metered, paid by the route's own terms
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return { ok: true, metered: { route, body } };
  // A `stream` that is not a boolean is read as one by lenient servers, which would stream without
  // reporting usage: such a request is not offered upto (the route's own terms remain).
  const stream = (json as { stream?: unknown }).stream;
  if (stream !== undefined && stream !== null && typeof stream !== "boolean") return { ok: true, metered: { route, body } };
  const upto: PricedAccept = uptoAccept(route.accepts[0]!, route.metering, maxTokensFor(json, body.byteLength, route.metering.maxTokens), settler);
  const meteredBody = new TextEncoder().encode(JSON.stringify(askForUsage(json as Record<string, unknown>)));
  return { ok: true, metered: { route: { ...route, accepts: [...route.accepts, upto] }, body, meteredBody } };
}
