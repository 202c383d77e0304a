// What the verifier says back to Traefik. Non-2xx answers go to the buyer unchanged
// (status, headers, body); a 2xx lets the request through with the headers Traefik
// copies upstream (authResponseHeaders).
import { Buffer } from "node:buffer";
import { type PricedRoute, v1RequirementJson } from "./routes/priced-route.ts";

export type Answer = { status: number; headers: Record<string, string>; body: string };

const JSON_TYPE = { "content-type": "application/json" };

export function paymentRequired(route: PricedRoute, resource: string, error: string): Answer {
  // v1 lists what it can express (EIP-3009 accepts); a route paid only by Permit2 lists none there.
  const v1Accepts = route.accepts.map((accept) => v1RequirementJson(accept, resource)).filter((json) => json !== undefined);
  const body = `{"x402Version":1,"error":${JSON.stringify(error)},"accepts":[${v1Accepts.join(",")}]}`;
  const v2 = `{"x402Version":2,"error":${JSON.stringify(error)},"resource":{"url":${JSON.stringify(resource)},"description":${
    JSON.stringify(route.description)
  },"mimeType":${JSON.stringify(route.mimeType)}},"accepts":[${route.accepts.map((accept) => accept.v2RequirementJson).join(",")}]${
    route.extensionsJson ?? ""
  }}`;
  return { status: 402, headers: { ...JSON_TYPE, "payment-required": Buffer.from(v2).toString("base64") }, body };
}

const UNPAID = "X-PAYMENT header is required";
/**
 * Few resources are asked for again and again. The cache is one for all routes, bounded in
 * entries and in the size of what it keys on: the resource (host, path and query) is the
 * buyer's to choose, and a bound per route would let many routes and long URLs fill memory.
 */
const CACHED_ANSWERS = 4096;
const CACHED_RESOURCE_LENGTH = 512;
const unpaidAnswers = new Map<string, { route: PricedRoute; answer: Answer }>();
/** Answers given again and again (the cache's): a server may keep them prepared. */
const sharedAnswers = new WeakSet<Answer>();

export function isSharedAnswer(answer: Answer): boolean {
  return sharedAnswers.has(answer);
}

/**
 * The 402 for a request that carries no payment, the verifier's most frequent answer: the
 * same bytes for the same route and resource, so it is built once and reused (answers are
 * never mutated after they are made). An entry made for a route the table has since
 * replaced is rebuilt; the oldest entries make room for new ones.
 */
export function cachedUnpaidAnswers(): number {
  return unpaidAnswers.size;
}

export function paymentRequiredAnswer(route: PricedRoute, resource: string): Answer {
  if (resource.length > CACHED_RESOURCE_LENGTH) return paymentRequired(route, resource, UNPAID);
  const key = `${route.key}\n${resource}`;
  const cached = unpaidAnswers.get(key);
  if (cached?.route === route) return cached.answer;
  const answer = paymentRequired(route, resource, UNPAID);
  if (cached) unpaidAnswers.delete(key);
  else if (unpaidAnswers.size >= CACHED_ANSWERS) unpaidAnswers.delete(unpaidAnswers.keys().next().value!);
  unpaidAnswers.set(key, { route, answer });
  sharedAnswers.add(answer);
  return answer;
}

export function refused(status: 400 | 403 | 404 | 414 | 503, error: string, extra: Record<string, string> = {}): Answer {
  return { status, headers: { ...JSON_TYPE, ...extra }, body: JSON.stringify({ error }) };
}

/** Seconds a client should wait before retrying an unhealthy upstream or an unknown outcome. */
export const RETRY_AFTER_SECONDS = "15";

/** 503 + Retry-After: not now, and no payment was taken (or, for an unknown outcome, none will be taken twice). */
export function unavailable(message: string): Answer {
  return refused(503, message, { "retry-after": RETRY_AFTER_SECONDS });
}

export function allowed(headers: Record<string, string> = {}): Answer {
  return { status: 200, headers, body: "" };
}

/** The resource URL the buyer asked for, as the proxy saw it (never our own address). */
export function resourceUrl(proto: string | null, host: string | null, uri: string): string {
  const scheme = proto?.split(",")[0]?.trim() || "http";
  return `${scheme}://${host?.split(",")[0]?.trim() || "localhost"}${uri.startsWith("/") ? uri : `/${uri}`}`;
}

export function base64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64");
}
