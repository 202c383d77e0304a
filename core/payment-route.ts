// The PaymentRoute resource (obol.org/v1alpha1): what the verifier charges for one path
// pattern. The controller writes its spec; the verifier validates it with this schema
// and reports admission in its status.
import * as v from "valibot";
import { ObjectMetaSchema } from "./kube.ts";
import { decimalPrice as decimal, SecretKeyRefSchema } from "./service-offer.ts";

export const PAYMENT_ROUTE_API_VERSION = "obol.org/v1alpha1";
export const PAYMENT_ROUTE_KIND = "PaymentRoute";

const positiveInteger = v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1, "must be at least 1"));

export const PaymentRouteSpecSchema = v.object({
  pattern: v.pipe(v.string(), v.regex(/^\/[a-zA-Z0-9/_.*-]*$/, "must be a path pattern starting with '/'")),
  price: decimal,
  amount: v.pipe(
    v.string(),
    v.regex(/^[1-9]\d{0,77}$/, "must be a positive whole number of atomic units"),
  ),
  payTo: v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{40}$/, "must be 0x followed by 40 hex digits")),
  network: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  scheme: v.optional(v.picklist(["exact"]), "exact"),
  maxTimeoutSeconds: v.optional(positiveInteger, 300),
  description: v.optional(v.string(), ""),
  mimeType: v.optional(v.string()),
  priceModel: v.picklist(["perRequest", "perMTok", "perHour"]),
  perRequest: v.optional(decimal),
  perMTok: v.optional(decimal),
  perHour: v.optional(decimal),
  approxTokensPerRequest: v.optional(positiveInteger),
  approxSecondsPerRequest: v.optional(positiveInteger),
  upstreamAuth: v.optional(SecretKeyRefSchema),
  upstreamHealthy: v.optional(v.boolean(), true),
});
export type PaymentRouteSpec = v.InferOutput<typeof PaymentRouteSpecSchema>;

export const PaymentRouteStatusSchema = v.looseObject({
  admitted: v.optional(v.boolean()),
  lastAdmittedGeneration: v.optional(v.number()),
  reason: v.optional(v.string()),
  message: v.optional(v.string()),
});
export type PaymentRouteStatus = v.InferOutput<typeof PaymentRouteStatusSchema>;

export const PaymentRouteSchema = v.looseObject({
  apiVersion: v.literal(PAYMENT_ROUTE_API_VERSION),
  kind: v.literal(PAYMENT_ROUTE_KIND),
  metadata: ObjectMetaSchema,
  spec: PaymentRouteSpecSchema,
  status: v.optional(PaymentRouteStatusSchema),
});
export type PaymentRoute = v.InferOutput<typeof PaymentRouteSchema>;
