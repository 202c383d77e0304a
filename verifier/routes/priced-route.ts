// A PaymentRoute made ready to answer requests: its payment requirements are built once,
// here, so every 402 for the route carries the same bytes (x402 v2 clients echo the
// requirement back and it is compared by deep equality). A route whose price cannot be
// charged, or whose payee can never collect, is refused here rather than served.
import { PAYMENT_ROUTE_SUFFIX } from "../../core/children.ts";
import type { FieldIssue } from "../../core/field-issues.ts";
import { caip2, findNetwork, type Network } from "../../core/networks.ts";
import { ANNOTATION_OFFER } from "../../core/ownership.ts";
import { payToProblem } from "../../core/pay-to.ts";
import { type PaymentRoute, routeAmount } from "../../core/payment-route.ts";
import type { UpstreamAuth } from "../../core/service-offer.ts";

export const DEFAULT_MIME_TYPE = "application/json";

export type PricedRoute = {
  /** "namespace/name" of the PaymentRoute. */
  key: string;
  namespace: string;
  name: string;
  /** The offer that owns the route, for metrics: from its annotation, else the route's name. */
  offer: string;
  pattern: string;
  network: Network;
  amount: bigint;
  payTo: `0x${string}`;
  maxTimeoutSeconds: number;
  upstreamHealthy: boolean;
  upstreamAuth?: UpstreamAuth;
  /** x402 v1: the requirement as JSON, split around the per-request `resource` value. */
  v1RequirementHead: string;
  v1RequirementTail: string;
  /** x402 v2: the `accepts` entry, as an object (for equality) and as JSON. */
  v2Requirement: Record<string, unknown>;
  v2RequirementJson: string;
  description: string;
  mimeType: string;
};

export type Pricing = { ok: true; route: PricedRoute } | { ok: false; issue: FieldIssue };

export function priceRoute(route: PaymentRoute, networks: readonly Network[]): Pricing {
  const { spec, metadata } = route;
  const network = findNetwork(networks, spec.network);
  if (!network) return { ok: false, issue: { field: "spec.network", message: `unknown network "${spec.network}"` } };
  const priced = routeAmount(spec, network);
  if (!priced.ok) return priced;
  const amount = priced.amount;
  const payToIssue = payToProblem(spec.payTo, network);
  if (payToIssue) return { ok: false, issue: { field: "spec.payTo", message: payToIssue } };
  const description = spec.description;
  const mimeType = spec.mimeType ?? DEFAULT_MIME_TYPE;
  const extra = { name: network.tokenName, version: network.tokenVersion };
  // Key order is part of the bytes: keep it fixed.
  const v1 = JSON.stringify({
    scheme: spec.scheme,
    network: network.name,
    maxAmountRequired: amount.toString(),
    resource: "\u0000",
    description,
    mimeType,
    payTo: spec.payTo,
    maxTimeoutSeconds: spec.maxTimeoutSeconds,
    asset: network.asset,
    extra,
  });
  const [head, tail] = v1.split('"\\u0000"') as [string, string];
  const v2Requirement = {
    scheme: spec.scheme,
    network: caip2(network),
    amount: amount.toString(),
    asset: network.asset,
    payTo: spec.payTo,
    maxTimeoutSeconds: spec.maxTimeoutSeconds,
    extra,
  };
  const namespace = metadata.namespace ?? "default";
  return { ok: true, route: {
    key: `${namespace}/${metadata.name}`,
    namespace,
    name: metadata.name,
    offer: offerOf(metadata.annotations, metadata.name),
    pattern: spec.pattern,
    network,
    amount,
    payTo: spec.payTo as `0x${string}`,
    maxTimeoutSeconds: spec.maxTimeoutSeconds,
    upstreamHealthy: spec.upstreamHealthy,
    upstreamAuth: spec.upstreamAuth,
    v1RequirementHead: head,
    v1RequirementTail: tail,
    v2Requirement,
    v2RequirementJson: JSON.stringify(v2Requirement),
    description,
    mimeType,
  } };
}

function offerOf(annotations: Record<string, string> | undefined, routeName: string): string {
  const key = annotations?.[ANNOTATION_OFFER];
  return key?.split("/")[1] ?? (routeName.endsWith(PAYMENT_ROUTE_SUFFIX) ? routeName.slice(0, -PAYMENT_ROUTE_SUFFIX.length) : routeName);
}
