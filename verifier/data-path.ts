// The data path: for routes that name an upstream, the verifier is the proxy itself, so a
// payment is settled only once the upstream delivered. Verify and hold, forward, then:
// - the upstream answered < 400: settle before its body is sent, and serve it with the
//   receipt (X-PAYMENT-RESPONSE for x402 v1, PAYMENT-RESPONSE for v2);
// - it answered >= 400, or not at all (timeout, refused, reset before its answer): nothing is
//   settled, the hold is let go, and its answer (or 502/504) is passed on;
// - the settlement fails or its outcome is unknown: the buyer gets 402 or 503 as in
//   ForwardAuth, never the body.
// A metered route (upto) also offers to pay for what a request uses: see metered-request.ts
// and metered-delivery.ts. WebSocket upgrades are refused: a settlement is made before a
// body (or at its end), and a socket has neither.
import { deadlineAfter } from "../adapters/deadline.ts";
import { type Answer, paymentRequired, paymentRequiredAnswer, refused, resourceUrl, unavailable } from "./answer.ts";
import type { Decision, VerifierDeps } from "./deps.ts";
import { deliverMetered } from "./metered-delivery.ts";
import { readMeteredRequest } from "./metered-request.ts";
import { admitPayment, letGoVerified, settleVerified } from "./paid-request.ts";
import type { Verified } from "./payment-outcomes.ts";
import { normalizePath } from "./routes/normalize-path.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import { upstreamUrl } from "./routes/upstream-target.ts";
import { asGiven, type UpstreamResolver } from "./service-resolver.ts";
import { callUpstream, relay } from "./upstream-call.ts";

export type DataPathDeps = VerifierDeps & {
  /** How long the upstream may take to answer (its status and headers); its body may stream for longer. */
  upstreamTimeoutMs: number;
  /** Where an upstream URL leads (in the cluster: a ready endpoint of its Service); as given when absent. */
  resolveUpstream?: UpstreamResolver;
};

/** Set by the controller's HTTPRoute (which overwrites any the buyer sent): the PaymentRoute that prices the request. */
export const ROUTE_HEADER = "x-payment-route";

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 120_000;

/** The data path's fetch handler: never throws; an error of ours is a 503 with nothing taken. */
export function dataPath(deps: DataPathDeps): (request: Request) => Promise<Response> {
  return async (request) => {
    const started = performance.now();
    let route: PricedRoute | undefined;
    try {
      const served = await serve(request, deps);
      route = served.route;
      deps.metrics?.answered(route, served.response.status, (performance.now() - started) / 1000);
      return served.response;
    } catch (error) {
      deps.log.error("data path failed", { route: route?.key, error: String(error) });
      return toResponse(unavailable("internal error; no payment was taken, retry later"));
    }
  };
}

type Served = { route?: PricedRoute; response: Response };

async function serve(request: Request, deps: DataPathDeps): Promise<Served> {
  const url = new URL(request.url);
  if (request.headers.has("upgrade")) return { response: toResponse(refused(400, "upgrades (WebSocket) are not served through the paid data path")) };
  const path = normalizePath(`${url.pathname}${url.search}`);
  if (!path.ok) return { response: toResponse(refused(path.status, path.reason)) };
  // Named by the offer's HTTPRoute: that route alone prices the request and names its upstream,
  // whatever other routes' patterns say (a more specific one in another namespace must not take it).
  const via = request.headers.get(ROUTE_HEADER);
  const route = via !== null ? deps.routeByKey?.(via) : deps.routes().lookup(path.path);
  if (via !== null && !route) return { response: toResponse(unavailable(`PaymentRoute ${via} is not served yet; no payment was taken, retry later`)) };
  if (!route?.upstream) {
    const answer = deps.ready?.() === false ? unavailable("the verifier has not loaded its routes yet; retry later") : refused(404, "no paid route with an upstream serves this path");
    return { route, response: toResponse(answer) };
  }
  if (!route.upstreamHealthy) return { route, response: toResponse(unavailable("the service behind this route is unavailable; no payment was taken")) };
  const proto = request.headers.get("x-forwarded-proto") ?? url.protocol.replace(":", "");
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host") ?? url.host;
  const resource = resourceUrl(proto, host, `${url.pathname}${url.search}`);
  // A metered route reads the body first: it decides this request's upto accept.
  const read = await readMeteredRequest(request, route, deps.meteredSettler?.(route.accepts[0]!.network));
  if (!read.ok) return { route, response: toResponse(read.answer) };
  const { metered } = read;
  const priced = metered.route;
  const v2Header = request.headers.get("payment-signature");
  const v1Header = v2Header === null ? request.headers.get("x-payment") : null;
  if (v2Header === null && v1Header === null) {
    const answer = priced === route ? paymentRequiredAnswer(route, resource) : paymentRequired(priced, resource, "PAYMENT-SIGNATURE header is required");
    return { route, response: toResponse(answer) };
  }
  const version = v2Header !== null ? 2 : 1;
  const resolved = await (deps.resolveUpstream ?? asGiven)(upstreamUrl(route.upstream, path.path, url.search));
  if (!resolved.ok) {
    deps.log.warn("upstream not reachable; no payment taken", { route: route.key, message: resolved.message });
    return { route, response: toResponse(unavailable("the service behind this route has no ready endpoint; no payment was taken")) };
  }
  const target = resolved.url;
  const admitted = await admitPayment(priced, resource, (v2Header ?? v1Header)!, version, deps);
  if (admitted.kind === "answer") return { route, response: toResponse(admitted.decision.answer) };
  const uptoPaid = admitted.kind === "verified" && admitted.paid.context.accept.scheme === "upto";
  const body = uptoPaid ? metered.meteredBody : metered.body;
  const forward = (authorization: string | undefined, payer: string) =>
    callUpstream(request, target, { authorization, payer, proto, host, timeoutMs: deps.upstreamTimeoutMs, body });
  if (admitted.kind === "paid") {
    // Settled already (a payment in doubt that landed) or verify-only: served whatever the upstream says.
    const headers = admitted.decision.answer.headers;
    const called = await forward(headers.authorization, headers["x-payment-payer"] ?? "");
    if (!called.ok) return { route, response: toResponse(noAnswer(called.kind)) };
    return { route, response: relay(called.response, receipt(admitted.decision, version)) };
  }
  return { route, response: await deliverThenSettle(admitted, forward, version, deps) };
}

async function deliverThenSettle(
  verified: Verified,
  forward: (authorization: string | undefined, payer: string) => ReturnType<typeof callUpstream>,
  version: 1 | 2,
  deps: DataPathDeps,
): Promise<Response> {
  const { paid } = verified;
  // The upstream may take long: the payment slot is not held meanwhile.
  verified.slot?.();
  verified.slot = undefined;
  const called = await forward(paid.credentials, paid.context.payment.authorization.from);
  const route = paid.context.route.key;
  if (!called.ok) {
    await letGoVerified(verified, deps);
    deps.log.warn("upstream did not answer; nothing settled", { route, kind: called.kind, message: called.message });
    return toResponse(noAnswer(called.kind));
  }
  const upstream = called.response;
  if (upstream.status >= 400) {
    await letGoVerified(verified, deps);
    deps.log.info("upstream failed; nothing settled", { route, status: upstream.status });
    return relay(upstream);
  }
  // Metered: charged for what it used, once that is known (metered-delivery.ts).
  if (paid.context.accept.scheme === "upto") return await deliverMetered(verified, upstream, deps);
  // Settled before a byte of the body is sent, within a budget of its own.
  const decision = await settleVerified(verified, deps, deadlineAfter(deps.answerTimeoutMs ?? 25_000));
  if (decision.answer.status !== 200) {
    await upstream.body?.cancel().catch(() => undefined);
    return toResponse(decision.answer);
  }
  return relay(upstream, receipt(decision, version));
}

/** The settlement receipt where each protocol version's clients read it. */
function receipt(decision: Decision, version: 1 | 2): Record<string, string> {
  const settlement = decision.answer.headers["x-payment-response"];
  if (settlement === undefined) return {};
  return version === 2 ? { "payment-response": settlement } : { "x-payment-response": settlement };
}

function noAnswer(kind: "timeout" | "unreachable"): Answer {
  const answer = refused(503, kind === "timeout" ? "the service did not answer in time; no payment was taken" : "the service could not be reached; no payment was taken");
  return { ...answer, status: kind === "timeout" ? 504 : 502 };
}

function toResponse(answer: Answer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}
