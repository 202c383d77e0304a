// Library exports: the pure core, usable without the command line.
export { reconcile, type ReconcileResult } from "./core/reconcile.ts";
export { renderOffers, type RenderResult } from "./core/render.ts";
export { validateOffer, type ValidOffer } from "./core/validate-offer.ts";
export { configWith, DEFAULT_CONFIG, type OperatorConfig, parseGatewayRef } from "./core/config.ts";
export { caip2, DEFAULT_NETWORKS, findNetwork, type Network } from "./core/networks.ts";
export { effectivePrice, type EffectivePrice } from "./core/price.ts";
export { formatAtomic, toAtomicCeil, toAtomicExact } from "./core/decimal.ts";
export { childNames, httpRoute, middleware, paymentRoute, referenceGrant } from "./core/children.ts";
export { NOTHING_OBSERVED, type Observed, type UpstreamObservation } from "./core/observed.ts";
export { ownerKeyOf } from "./core/ownership.ts";
export {
  type ServiceOfferEnvelope,
  ServiceOfferEnvelopeSchema,
  type ServiceOfferSpec,
  ServiceOfferSpecSchema,
  type ServiceOfferStatus,
} from "./core/service-offer.ts";
export { type PaymentRoute, PaymentRouteSchema, type PaymentRouteSpec } from "./core/payment-route.ts";
