/**
 * The operator's pure core as a library: what a ServiceOffer becomes (its PaymentRoute,
 * Traefik Middleware, Gateway API HTTPRoute and, across namespaces, ReferenceGrant), its
 * status, and the prices and networks behind them. No I/O and no clock: time is a parameter.
 *
 * @example
 * ```ts
 * import { DEFAULT_CONFIG, renderOffers } from "x402-operator";
 *
 * const offer = {
 *   apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name: "qwen", namespace: "llm" },
 *   spec: {
 *     upstream: { service: "ollama", namespace: "llm", port: 11434 },
 *     payment: { network: "base-sepolia", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", price: { perRequest: "0.001" } },
 *   },
 * };
 * const { rendered, errors } = renderOffers([offer], DEFAULT_CONFIG, "default", new Date());
 * // rendered[0].children: the PaymentRoute, Middleware and HTTPRoute to apply; errors: [] (or why not)
 * ```
 * @module
 */
export { reconcile, type ReconcileResult } from "./core/reconcile.ts";
export { type RenderedOffer, renderOffers, type RenderResult } from "./core/render.ts";
export { type OfferValidation, validateOffer, type ValidOffer } from "./core/validate-offer.ts";
export { type ConfigOverrides, configWith, DEFAULT_CONFIG, type GatewayRef, type OperatorConfig, parseGatewayRef } from "./core/config.ts";
export { caip2, DEFAULT_NETWORKS, findNetwork, type Network } from "./core/networks.ts";
export { type Asset, type AssetResult, type AssetSpec, AssetSpecSchema, defaultAsset, resolveAsset, type TransferMethod } from "./core/assets.ts";
export { EXACT_PERMIT2_PROXY_ADDRESS, PERMIT2_ADDRESS } from "./core/permit2.ts";
export { type PaymentTerms, validatePayment } from "./core/validate-payment.ts";
export { effectivePrice, type EffectivePrice, type PriceModel, type PriceResult } from "./core/price.ts";
export { formatAtomic, toAtomicCeil, toAtomicExact } from "./core/decimal.ts";
export { childNames, type ChildNames, httpRoute, middleware, PAYMENT_ROUTE_SUFFIX, paymentRoute, referenceGrant } from "./core/children.ts";
export { CHILD_KINDS, CHILD_RESOURCES, type ChildKind, HTTP_ROUTE, MIDDLEWARE, PAYMENT_ROUTE, REFERENCE_GRANT, SERVICE_OFFER } from "./core/kinds.ts";
export { apiVersionOf, type Condition, type KubeObject, type ObjectMeta, type ObjectRef, type OwnerReference, type Resource } from "./core/kube.ts";
export type { FieldIssue } from "./core/field-issues.ts";
export { NOTHING_OBSERVED, type Observed, type UpstreamObservation, type UpstreamTarget } from "./core/observed.ts";
export type { OfferEvent } from "./core/transitions.ts";
export { ownerKeyOf } from "./core/ownership.ts";
export {
  type Payment,
  PaymentSchema,
  type ServiceOfferEnvelope,
  ServiceOfferEnvelopeSchema,
  type ServiceOfferSpec,
  ServiceOfferSpecSchema,
  type ServiceOfferStatus,
} from "./core/service-offer.ts";
export { type Alternative, type AmountResult, type PaymentRoute, PaymentRouteSchema, type PaymentRouteSpec, routeAmount } from "./core/payment-route.ts";
