// The ForwardAuth decision for one request, from headers to answer. Traefik calls this
// for every request to a paid route; the order of the checks is the order of their cost.
import type { Logger } from "../adapters/log.ts";
import { allowed, type Answer, paymentRequiredAnswer, refused, resourceUrl, unavailable } from "./answer.ts";
import { normalizePath } from "./routes/normalize-path.ts";
import { decidePayment } from "./paid-request.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import type { Decision, VerifierDeps } from "./deps.ts";

/**
 * Synchronous until a payment has to be checked: the unpaid 402 (the common answer) allocates no promise.
 * `via`: the PaymentRoute an offer's Middleware names in its ForwardAuth address. A request
 * that came through it belongs to that offer: that route alone sets its price and its
 * recipient (a more specific pattern in another namespace must not take it over), and it
 * is never free: while an offer's path changes, Traefik and the verifier learn of it at
 * different moments, so the path may be one the table does not (or no longer) know.
 */
export function forwardAuth(header: (name: string) => string | null, deps: VerifierDeps, via?: string): Decision | Promise<Decision> {
  const uri = header("x-forwarded-uri");
  if (uri === null) return { answer: refused(403, "missing X-Forwarded-Uri: the verifier only answers Traefik ForwardAuth requests") };
  const path = normalizePath(uri);
  if (!path.ok) return { answer: refused(path.status, path.reason) };
  // A browser asks before sending PAYMENT-SIGNATURE from another origin; the upstream answers that.
  if (isPreflight(header)) return { answer: allowed() };
  let route: PricedRoute | undefined;
  if (via !== undefined) {
    route = deps.routeByKey?.(via);
    if (!route) return { answer: unavailable(`PaymentRoute ${via} is not served yet; no payment was taken, retry later`) };
  } else {
    route = deps.routes().lookup(path.path);
    if (!route) return { answer: deps.ready?.() === false ? unavailable("the verifier has not loaded its routes yet; retry later") : allowed() };
  }
  if (!route.upstreamHealthy) return { route, answer: unavailable("the service behind this route is unavailable; no payment was taken") };

  const resource = resourceUrl(header("x-forwarded-proto"), header("x-forwarded-host"), uri);
  const v2Header = header("payment-signature");
  const v1Header = v2Header === null ? header("x-payment") : null;
  if (v2Header === null && v1Header === null) return { route, answer: paymentRequiredAnswer(route, resource) };
  return decidePayment(route, resource, (v2Header ?? v1Header)!, v2Header !== null ? 2 : 1, deps);
}

/** A CORS preflight: OPTIONS with the Origin and Access-Control-Request-Method a browser sends. Any other OPTIONS is priced. */
function isPreflight(header: (name: string) => string | null): boolean {
  return header("x-forwarded-method") === "OPTIONS" && header("access-control-request-method") !== null && header("origin") !== null;
}
