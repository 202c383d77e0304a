// A PaymentRoute made ready to answer requests: its payment requirements are built once,
// here, so every 402 for the route carries the same bytes (x402 v2 clients echo the
// requirement back and it is compared by deep equality). A route whose price cannot be
// charged, or whose payee can never collect, is refused here rather than served.
import type { RouteRegistration } from "../../core/registration-document.ts";
import { type Asset, resolveAsset } from "../../core/assets.ts";
import { PAYMENT_ROUTE_SUFFIX } from "../../core/children.ts";
import type { FieldIssue } from "../../core/field-issues.ts";
import { caip2, findNetwork, type Network } from "../../core/networks.ts";
import { ANNOTATION_OFFER } from "../../core/ownership.ts";
import { payToProblem } from "../../core/pay-to.ts";
import { type PaymentRoute, routeAmount } from "../../core/payment-route.ts";
import type { UpstreamAuth } from "../../core/service-offer.ts";
import { type UpstreamTarget, upstreamTarget, type UpstreamTrust } from "./upstream-target.ts";
import { type Metering, perMTokAtomic } from "./metering.ts";

export const DEFAULT_MIME_TYPE = "application/json";

/** One way to pay a route (one entry of a 402's `accepts`): a network, a token, an amount, a payee. */
export type PricedAccept = {
  scheme: "exact" | "upto";
  /** upto: the account that settles, named in the buyer's permit (extra.facilitatorAddress). */
  facilitator?: `0x${string}`;
  network: Network;
  asset: Asset;
  amount: bigint;
  payTo: `0x${string}`;
  maxTimeoutSeconds: number;
  /** x402 v2: the `accepts` entry, as an object (for equality) and as JSON. */
  v2Requirement: Record<string, unknown>;
  v2RequirementJson: string;
  /** x402 v1, which pays by EIP-3009 only: the requirement as JSON, split around the per-request `resource` value; absent for Permit2. */
  v1Requirement?: { head: string; tail: string };
};

export type PricedRoute = {
  /** "namespace/name" of the PaymentRoute. */
  key: string;
  namespace: string;
  name: string;
  /** The offer that owns the route, for metrics: from its annotation, else the route's name. */
  offer: string;
  pattern: string;
  /** In the order a 402 lists them; never empty. */
  accepts: readonly PricedAccept[];
  upstreamHealthy: boolean;
  upstreamAuth?: UpstreamAuth;
  /** The data path's upstream: the verifier forwards paid requests there itself. */
  upstream?: UpstreamTarget;
  /** Metered payments (upto): the rate and cap; the accept itself is made per request (x402/upto.ts). */
  metering?: Metering;
  description: string;
  mimeType: string;
  /** The offer's ERC-8004 registration document (its agent named within the route's namespace). */
  registration?: RouteRegistration;
  /** `,"extensions":{"bazaar":...}`, ready to close its 402 and its /.well-known/x402 item (one source), when the offer opts in. */
  extensionsJson?: string;
};

export type Pricing = { ok: true; route: PricedRoute } | { ok: false; issue: FieldIssue };

/** `trust`: where the route came from, which decides the upstreams it may name (see upstream-target.ts). */
export function priceRoute(route: PaymentRoute, networks: readonly Network[], trust: UpstreamTrust = "file"): Pricing {
  const { spec, metadata } = route;
  const description = spec.description;
  const mimeType = spec.mimeType ?? DEFAULT_MIME_TYPE;
  const accepts: PricedAccept[] = [];
  const v1Networks = new Set<number>();
  const terms = [spec, ...(spec.alternatives ?? [])];
  for (const [index, term] of terms.entries()) {
    const field = index === 0 ? "spec" : `spec.alternatives.${index - 1}`;
    // x402 v1 names only a network: of several EIP-3009 accepts on one, it can be offered the first.
    const priced = priceAccept(term, field, networks, { description, mimeType, v1: (chainId) => !v1Networks.has(chainId) });
    if (!priced.ok) return priced;
    const { accept } = priced;
    if (accepts.some((a) => a.network.chainId === accept.network.chainId && a.asset.address.toLowerCase() === accept.asset.address.toLowerCase())) {
      return { ok: false, issue: { field, message: `pays ${accept.asset.symbol} on ${accept.network.name} as an earlier accept does: one accept per network and token` } };
    }
    if (accept.v1Requirement) v1Networks.add(accept.network.chainId);
    accepts.push(accept);
  }
  const namespace = metadata.namespace ?? "default";
  const target = spec.upstream ? upstreamTarget(spec.upstream, namespace, trust) : undefined;
  if (target && !target.ok) return target;
  let metering: Metering | undefined;
  if (spec.upto) {
    const refuse = (message: string): Pricing => ({ ok: false, issue: { field: "spec.upto", message } });
    if (!spec.upstream) return refuse("needs the data path (spec.upstream): a metered charge is known only once the upstream answered");
    if (spec.priceModel !== "perMTok" || spec.perMTok === undefined) return refuse("needs priceModel perMTok and perMTok: upto charges per token used");
    const rate = perMTokAtomic(spec.perMTok, accepts[0]!.asset.decimals);
    if (rate === undefined) return refuse(`needs a perMTok greater than 0 and at most as fine as ${accepts[0]!.asset.symbol}'s ${accepts[0]!.asset.decimals} decimals (got "${spec.perMTok}")`);
    metering = { perMTokAtomic: rate, maxTokens: spec.upto.maxTokens };
  }
  return { ok: true, route: {
    key: `${namespace}/${metadata.name}`,
    namespace,
    name: metadata.name,
    offer: offerOf(metadata.annotations, metadata.name),
    pattern: spec.pattern,
    accepts,
    upstreamHealthy: spec.upstreamHealthy,
    upstreamAuth: spec.upstreamAuth,
    upstream: target?.target,
    metering,
    description,
    mimeType,
    registration: spec.registration,
    extensionsJson: spec.bazaar && `,"extensions":${JSON.stringify({ bazaar: spec.bazaar })}`,
  } };
}

type AcceptSpec = Pick<PaymentRoute["spec"], "network" | "asset" | "price" | "amount" | "payTo" | "scheme" | "maxTimeoutSeconds">;
type Described = { description: string; mimeType: string; v1(chainId: number): boolean };

/** One accept from the route's own terms (`field` "spec") or an alternative ("spec.alternatives.0"). */
function priceAccept(spec: AcceptSpec, field: string, networks: readonly Network[], { description, mimeType, v1 }: Described): { ok: true; accept: PricedAccept } | { ok: false; issue: FieldIssue } {
  const network = findNetwork(networks, spec.network);
  if (!network) return { ok: false, issue: { field: `${field}.network`, message: `unknown network "${spec.network}"` } };
  const resolved = resolveAsset(spec.asset, network, `${field}.asset`);
  if (!resolved.ok) return { ok: false, issue: resolved.issues[0]! };
  const asset = resolved.asset;
  const priced = routeAmount(spec, asset);
  if (!priced.ok) return { ok: false, issue: { ...priced.issue, field: priced.issue.field.replace(/^spec\./, `${field}.`) } };
  const amount = priced.amount;
  const payToIssue = payToProblem(spec.payTo, network, asset.address);
  if (payToIssue) return { ok: false, issue: { field: `${field}.payTo`, message: payToIssue } };
  // The official client pays by Permit2 only when told so; EIP-3009 is its default.
  const extra = asset.transferMethod === "permit2" ? { assetTransferMethod: "permit2", ...eip712Extra(asset) } : eip712Extra(asset);
  // Key order is part of the bytes: keep it fixed.
  const v2Requirement = {
    scheme: spec.scheme,
    network: caip2(network),
    amount: amount.toString(),
    asset: asset.address,
    payTo: spec.payTo,
    maxTimeoutSeconds: spec.maxTimeoutSeconds,
    extra,
  };
  let v1Requirement: PricedAccept["v1Requirement"];
  if (asset.transferMethod === "eip3009" && v1(network.chainId)) {
    const v1 = JSON.stringify({
      scheme: spec.scheme,
      network: network.name,
      maxAmountRequired: amount.toString(),
      resource: "\u0000",
      description,
      mimeType,
      payTo: spec.payTo,
      maxTimeoutSeconds: spec.maxTimeoutSeconds,
      asset: asset.address,
      extra,
    });
    const [head, tail] = v1.split('"\\u0000"') as [string, string];
    v1Requirement = { head, tail };
  }
  return { ok: true, accept: {
    scheme: "exact",
    network,
    asset,
    amount,
    payTo: spec.payTo as `0x${string}`,
    maxTimeoutSeconds: spec.maxTimeoutSeconds,
    v2Requirement,
    v2RequirementJson: JSON.stringify(v2Requirement),
    v1Requirement,
  } };
}

/** The token's EIP-712 name and version for a requirement's `extra`, when the asset has them. */
export function eip712Extra(asset: Asset): { name: string; version: string } | Record<string, never> {
  return asset.eip712Name !== undefined && asset.eip712Version !== undefined ? { name: asset.eip712Name, version: asset.eip712Version } : {};
}

/** The v1 requirement with the request's resource in it. */
export function v1RequirementJson(accept: PricedAccept, resource: string): string | undefined {
  return accept.v1Requirement && `${accept.v1Requirement.head}${JSON.stringify(resource)}${accept.v1Requirement.tail}`;
}

function offerOf(annotations: Record<string, string> | undefined, routeName: string): string {
  const key = annotations?.[ANNOTATION_OFFER];
  return key?.split("/")[1] ?? (routeName.endsWith(PAYMENT_ROUTE_SUFFIX) ? routeName.slice(0, -PAYMENT_ROUTE_SUFFIX.length) : routeName);
}
