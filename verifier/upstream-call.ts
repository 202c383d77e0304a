// The data path's call to an upstream: the buyer's request, its body streamed, with the
// headers a proxy must not pass on (hop-by-hop, the payment itself) removed and the
// route's own credentials set. Waiting for the upstream's answer is bounded; its body is
// not (an LLM may stream for minutes), and the buyer leaving aborts it.

/** Headers meant for one connection only (RFC 9110 7.6.1), never forwarded either way. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);
/** The buyer's payment is ours to check, not the upstream's; the payer header is ours to set. */
const NOT_FORWARDED = new Set(["host", "content-length", "x-payment", "payment-signature", "x-payment-payer", "accept-encoding", "x-payment-route"]);

/** Drops hop-by-hop headers and those the Connection header names. */
export function endToEnd(headers: Headers, drop: ReadonlySet<string> = new Set()): Headers {
  const named = new Set((headers.get("connection") ?? "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean));
  const kept = new Headers();
  headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name) && !named.has(name) && !drop.has(name)) kept.append(name, value);
  });
  return kept;
}

export type UpstreamCall =
  | { ok: true; response: Response }
  /** No answer: nothing was delivered, so nothing is charged. */
  | { ok: false; kind: "timeout" | "unreachable"; message: string };

export type CallOptions = {
  /** The Authorization value from the route's Secret; absent: the buyer's own is passed on. */
  authorization?: string;
  payer?: string;
  /** The public scheme and host the buyer used, for X-Forwarded-Proto and -Host when no proxy set them. */
  proto: string;
  host: string;
  /** How long to wait for the upstream's status and headers. */
  timeoutMs: number;
  /** The body to send instead of the request's own (read already, and perhaps rewritten). */
  body?: Uint8Array<ArrayBuffer>;
};

export async function callUpstream(request: Request, url: URL, options: CallOptions): Promise<UpstreamCall> {
  const headers = endToEnd(request.headers, NOT_FORWARDED);
  if (options.authorization !== undefined) headers.set("authorization", options.authorization);
  if (options.payer !== undefined) headers.set("x-payment-payer", options.payer);
  if (!headers.has("x-forwarded-proto")) headers.set("x-forwarded-proto", options.proto);
  if (!headers.has("x-forwarded-host")) headers.set("x-forwarded-host", options.host);
  // Passed on as the upstream sends it, so its length and framing stay true.
  headers.set("accept-encoding", "identity");
  // The buyer leaving aborts the call only until the upstream answers: after that its body is
  // ours to read or stop (a metered stream is read on briefly for its usage, metered-delivery.ts).
  const waiting = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => (timedOut = true, waiting.abort(new Error("upstream answer timed out"))), options.timeoutMs);
  const buyerLeft = () => waiting.abort(new Error("the buyer left"));
  if (request.signal.aborted) buyerLeft();
  else request.signal.addEventListener("abort", buyerLeft, { once: true });
  const hasBody = (options.body !== undefined || request.body !== null) && request.method !== "GET" && request.method !== "HEAD";
  try {
    const response = await fetch(url, {
      method: request.method,
      headers,
      body: hasBody ? options.body ?? request.body : undefined,
      redirect: "manual",
      signal: waiting.signal,
      ...(hasBody && options.body === undefined ? { duplex: "half" } : {}),
    } as RequestInit);
    return { ok: true, response };
  } catch (error) {
    if (timedOut) return { ok: false, kind: "timeout", message: `no answer within ${options.timeoutMs} ms` };
    return { ok: false, kind: "unreachable", message: error instanceof Error ? `${error.message}${error.cause ? `: ${String(error.cause)}` : ""}` : String(error) };
  } finally {
    clearTimeout(timer);
    request.signal.removeEventListener("abort", buyerLeft);
  }
}

/** Payment headers are the verifier's to say: an upstream's would be a forged receipt. */
export const OURS = ["payment-response", "x-payment-response", "payment-required", "x-payment-payer"];

/** The upstream's answer for the buyer: end-to-end headers only, plus ours; the body streamed as it comes. */
export function relay(response: Response, extra: Record<string, string> = {}): Response {
  // A body the runtime already decoded no longer matches the upstream's encoding and length.
  const dropped = new Set([...OURS, ...(response.headers.has("content-encoding") ? ["content-encoding", "content-length"] : [])]);
  const headers = endToEnd(response.headers, dropped);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  const bodiless = [101, 204, 205, 304].includes(response.status);
  return new Response(bodiless ? null : response.body, { status: response.status, statusText: response.statusText, headers });
}
