// The desired children of a valid offer: what Traefik, the Gateway API and the verifier
// need to publish one paid route. Kept as plain objects of only the fields we own, which
// is exactly what server-side apply wants to be sent.
import type { AgentRegistration } from "./agent-registration.ts";
import { assetSpecOf } from "./assets.ts";
import { bazaarExtension } from "./bazaar.ts";
import type { OperatorConfig } from "./config.ts";
import { apiVersionOf, HTTP_ROUTE, MIDDLEWARE, REFERENCE_GRANT } from "./kinds.ts";
import type { KubeObject } from "./kube.ts";
import { childName } from "./names.ts";
import { definedOnly } from "./defined-only.ts";
import { upstreamAuthOf } from "./implicit-upstream-auth.ts";
import { caip2 } from "./networks.ts";
import { childMetadata, type OfferIdentity } from "./ownership.ts";
import { MAX_DESCRIPTION_LENGTH, PAYMENT_ROUTE_API_VERSION, PAYMENT_ROUTE_KIND } from "./payment-route.ts";
import { SECONDS_PER_REQUEST, TOKENS_PER_REQUEST } from "./price.ts";
import type { ValidOffer } from "./validate-offer.ts";
import type { PaymentTerms } from "./validate-payment.ts";

export const MIDDLEWARE_API_VERSION = apiVersionOf(MIDDLEWARE);
export const HTTPROUTE_API_VERSION = apiVersionOf(HTTP_ROUTE);
export const REFERENCE_GRANT_API_VERSION = apiVersionOf(REFERENCE_GRANT);

/** A PaymentRoute is named after its offer with this suffix. */
export const PAYMENT_ROUTE_SUFFIX = "-payment";

export type ChildNames = { middleware: string; paymentRoute: string; httpRoute: string; referenceGrant: string };

export function childNames(offer: OfferIdentity): ChildNames {
  return {
    middleware: childName("x402-", offer.name),
    paymentRoute: childName("", offer.name, PAYMENT_ROUTE_SUFFIX),
    httpRoute: childName("so-", offer.name),
    referenceGrant: childName(`so-${offer.namespace}-`, offer.name),
  };
}

export function middleware(id: OfferIdentity, config: OperatorConfig): KubeObject {
  return {
    apiVersion: MIDDLEWARE_API_VERSION,
    kind: "Middleware",
    metadata: childMetadata(id, childNames(id).middleware, id.namespace),
    spec: {
      forwardAuth: {
        // Names the offer's PaymentRoute: the verifier then never lets a request that came
        // through this middleware pass for free (see verifier/forward-auth.ts).
        address: withQuery(config.verifierUrl, "route", `${id.namespace}/${childNames(id).paymentRoute}`),
        authResponseHeaders: [...config.authResponseHeaders],
        trustForwardHeader: false,
      },
    },
  };
}

/** `registration`: the offer's ERC-8004 document, when its registration is enabled. */
export function paymentRoute(id: OfferIdentity, offer: ValidOffer, upstreamHealthy: boolean, registration?: AgentRegistration): KubeObject {
  const { spec, price, network } = offer;
  const { upstream } = spec;
  const inputs = spec.payment.price;
  return {
    apiVersion: PAYMENT_ROUTE_API_VERSION,
    kind: PAYMENT_ROUTE_KIND,
    metadata: childMetadata(id, childNames(id).paymentRoute, id.namespace),
    spec: definedOnly({
      pattern: offer.path === "/" ? "/*" : `${offer.path}/*`,
      price: price.decimal,
      amount: price.amount.toString(),
      payTo: spec.payment.payTo,
      network: network.name,
      // Written only when the offer names a token, in full, so routes priced in USDC stay as they were.
      asset: spec.payment.asset ? assetSpecOf(offer.asset) : undefined,
      scheme: spec.payment.scheme,
      maxTimeoutSeconds: spec.payment.maxTimeoutSeconds,
      description: describeOffer(id, offer),
      priceModel: price.model,
      perRequest: price.model === "perRequest" ? inputs.perRequest : undefined,
      perMTok: price.model === "perMTok" ? inputs.perMTok : undefined,
      approxTokensPerRequest: price.model === "perMTok" ? TOKENS_PER_REQUEST : undefined,
      perHour: price.model === "perHour" ? inputs.perHour : undefined,
      approxSecondsPerRequest: price.model === "perHour" ? SECONDS_PER_REQUEST : undefined,
      upstreamAuth: upstreamAuthOf(spec),
      alternatives: offer.alternatives.length > 0 ? offer.alternatives.map(alternativeOf) : undefined,
      // The data path: the verifier forwards to the upstream Service itself, the public prefix stripped.
      upstream: spec.dataPath ? { url: `http://${upstream.service}.${upstream.namespace}.svc:${upstream.port}`, stripPrefix: offer.path } : undefined,
      upto: spec.payment.upto ? { maxTokens: spec.payment.upto.maxTokens } : undefined,
      upstreamHealthy,
      bazaar: bazaarExtension(spec),
      registration: registration ? { agent: id.name, document: registration } : undefined,
    }),
  };
}

/** An entry of the offer's `payments`, as the verifier reads it: every term explicit. */
function alternativeOf({ payment, network, asset, price }: PaymentTerms) {
  return {
    network: network.name,
    asset: assetSpecOf(asset),
    price: price.decimal,
    amount: price.amount.toString(),
    payTo: payment.payTo,
    scheme: payment.scheme,
    maxTimeoutSeconds: payment.maxTimeoutSeconds,
  };
}

/** The registration's description when it fits a PaymentRoute (every 402 carries it), else one made from the offer. */
function describeOffer(id: OfferIdentity, offer: ValidOffer): string {
  const registered = offer.spec.registration?.description;
  if (registered && registered.length <= MAX_DESCRIPTION_LENGTH) return registered;
  const model = offer.spec.model ? ` ${offer.spec.model.name}` : "";
  return `${offer.spec.type}${model} service ${id.namespace}/${id.name} on ${caip2(offer.network)}`;
}

export function httpRoute(id: OfferIdentity, offer: ValidOffer, config: OperatorConfig): KubeObject {
  const { upstream } = offer.spec;
  const names = childNames(id);
  const backend = upstream.namespace === id.namespace
    ? { name: upstream.service, port: upstream.port }
    : { name: upstream.service, namespace: upstream.namespace, port: upstream.port };
  const forwardAuth = {
    filters: [
      { type: "ExtensionRef", extensionRef: { group: "traefik.io", kind: "Middleware", name: names.middleware } },
      { type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } } },
    ],
    backendRefs: [backend],
  };
  // The data path: the verifier is the backend; the route it prices by is named in a header
  // the gateway sets (overwriting the buyer's), and it strips the prefix itself.
  const { dataPathService: verifier } = config;
  const dataPath = {
    filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "X-Payment-Route", value: `${id.namespace}/${names.paymentRoute}` }] } }],
    backendRefs: [verifier.namespace === id.namespace ? { name: verifier.name, port: verifier.port } : { name: verifier.name, namespace: verifier.namespace, port: verifier.port }],
  };
  return {
    apiVersion: HTTPROUTE_API_VERSION,
    kind: "HTTPRoute",
    metadata: childMetadata(id, names.httpRoute, id.namespace),
    spec: {
      parentRefs: [{ ...config.gateway }],
      rules: [{ matches: [{ path: { type: "PathPrefix", value: offer.path } }], ...(offer.spec.dataPath ? dataPath : forwardAuth) }],
    },
  };
}

/**
 * Lets the offer's HTTPRoute point at a Service in another namespace: the upstream's, or with
 * the data path, the verifier's. None when the backend is in the offer's own namespace.
 */
export function referenceGrant(id: OfferIdentity, offer: ValidOffer, config: OperatorConfig): KubeObject | undefined {
  const backend = offer.spec.dataPath
    ? { namespace: config.dataPathService.namespace, service: config.dataPathService.name }
    : { namespace: offer.spec.upstream.namespace, service: offer.spec.upstream.service };
  if (backend.namespace === id.namespace) return undefined;
  return {
    apiVersion: REFERENCE_GRANT_API_VERSION,
    kind: "ReferenceGrant",
    metadata: childMetadata(id, childNames(id).referenceGrant, backend.namespace),
    spec: {
      from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: id.namespace }],
      to: [{ group: "", kind: "Service", name: backend.service }],
    },
  };
}

function withQuery(url: string, name: string, value: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}${name}=${encodeURIComponent(value)}`;
}
