// The ServiceOffer resource (obol.org/v1alpha1): the schema existing offers were written
// against, with the same defaults the CRD applies, so that the core sees the same spec
// whether an offer came through the API server or straight from a file.
import * as v from "valibot";
import { apiVersionOf, SERVICE_OFFER } from "./kinds.ts";
import { ConditionSchema, ObjectMetaSchema } from "./kube.ts";
import { AddressSchema } from "./pay-to.ts";
import { AssetSpecSchema } from "./assets.ts";

export const OFFER_API_VERSION = apiVersionOf(SERVICE_OFFER);
export const OFFER_KIND = SERVICE_OFFER.kind;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DECIMAL = /^\d+(\.\d+)?$/;
const label = (what: string) =>
  v.pipe(
    v.string(),
    v.maxLength(63, `must be a ${what} of at most 63 characters`),
    v.regex(DNS1123_LABEL, `must be a ${what}: lowercase letters, digits and '-'`),
  );
export const decimalPrice = v.pipe(v.string(), v.regex(DECIMAL, "must be a decimal number such as \"0.001\""));

// Strict objects: a field this operator does not implement is refused by name, never dropped
// (core/unsupported-fields.ts). `registration` alone is carried whole for the agent registry.
export const SecretKeyRefSchema = v.strictObject({
  secretKeyRef: v.strictObject({ name: v.pipe(v.string(), v.maxLength(253, "must be at most 253 characters"), v.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a valid Secret name")), key: v.pipe(v.string(), v.minLength(1, "must not be empty")) }),
  scheme: v.optional(v.string()),
});
export type UpstreamAuth = v.InferOutput<typeof SecretKeyRefSchema>;

export const PriceSchema = v.pipe(
  v.strictObject({
    perRequest: v.optional(decimalPrice),
    perMTok: v.optional(decimalPrice),
    perHour: v.optional(decimalPrice),
  }),
  v.check(
    (p) => p.perRequest !== undefined || p.perMTok !== undefined || p.perHour !== undefined,
    "must set one of perRequest, perMTok or perHour",
  ),
);
export type Price = v.InferOutput<typeof PriceSchema>;

/** One way to pay an offer: a network, a token, a price, a payee. */
export const PaymentSchema = v.strictObject({
  scheme: v.optional(v.picklist(["exact"]), "exact"),
  network: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  payTo: AddressSchema,
  maxTimeoutSeconds: v.optional(
    v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1, "must be at least 1"), v.maxValue(86400, "must be at most 86400")),
    300,
  ),
  price: PriceSchema,
  /** The token the price is in; the network's USDC when absent (core/assets.ts). */
  asset: v.optional(AssetSpecSchema),
  /** Metered payments (x402 upto) for a perMTok price, through the data path: at most this many tokens a request. */
  upto: v.optional(v.strictObject({
    maxTokens: v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1, "must be at least 1"), v.maxValue(100_000_000, "must be at most 100000000")),
  })),
});
export type Payment = v.InferOutput<typeof PaymentSchema>;

/** Every 402 carries every accept: bounded, so an offer cannot make its 402s huge. */
export const MAX_EXTRA_PAYMENTS = 8;

export const ServiceOfferSpecSchema = v.strictObject({
  type: v.optional(v.picklist(["inference", "fine-tuning", "http"]), "http"),
  model: v.optional(v.strictObject({
    name: v.pipe(v.string(), v.minLength(1, "must not be empty")),
    runtime: v.optional(v.picklist(["ollama", "vllm", "tgi"])),
  })),
  upstream: v.strictObject({
    service: label("Service name"),
    namespace: label("namespace name"),
    port: v.optional(
      v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1, "must be 1-65535"), v.maxValue(65535, "must be 1-65535")),
      11434,
    ),
    healthPath: v.optional(v.pipe(v.string(), v.startsWith("/", "must start with '/'")), "/health"),
  }),
  payment: PaymentSchema,
  /** More accepted terms (network x asset x price), offered after `payment` in the same 402. */
  payments: v.optional(v.pipe(
    v.array(PaymentSchema),
    v.minLength(1, "must list at least one payment, or be left out"),
    v.maxLength(MAX_EXTRA_PAYMENTS, `must list at most ${MAX_EXTRA_PAYMENTS} payments`),
  )),
  path: v.optional(v.pipe(v.string(), v.regex(/^\/[a-zA-Z0-9/_.-]*$/, "must start with '/' and hold only letters, digits, '/', '_', '.' and '-'"))),
  /**
   * Serve paid requests through the verifier's data path: settled only once the upstream
   * delivered, the receipt to the buyer. Default: Traefik ForwardAuth, settled before.
   */
  dataPath: v.optional(v.boolean()),
  upstreamAuth: v.optional(SecretKeyRefSchema),
  /**
   * Being catalogued by facilitators: `bazaar: true` puts the x402 Bazaar extension in the
   * offer's 402 (core/bazaar.ts); `input` and `output` are example call and answer.
   */
  discovery: v.optional(v.pipe(
    v.strictObject({
      bazaar: v.optional(v.boolean()),
      input: v.optional(v.record(v.string(), v.unknown())),
      // The official schema types the example answer as an object.
      output: v.optional(v.record(v.string(), v.unknown())),
    }),
    // Every 402 of the offer carries the examples (within the PaymentRoute's bound for the whole extension).
    v.check((d) => JSON.stringify(d).length <= 4096, "input and output examples must be at most 4096 bytes of JSON together"),
  )),
  // Registration is carried for the on-chain agent registry; we accept and keep it whole.
  registration: v.optional(v.looseObject({
    enabled: v.optional(v.boolean()),
    name: v.optional(v.string()),
    description: v.optional(v.string()),
    image: v.optional(v.string()),
    services: v.optional(v.array(v.looseObject({}))),
    supportedTrust: v.optional(v.array(v.string())),
    skills: v.optional(v.array(v.string())),
    domains: v.optional(v.array(v.string())),
    metadata: v.optional(v.record(v.string(), v.unknown())),
  })),
});
export type ServiceOfferSpec = v.InferOutput<typeof ServiceOfferSpecSchema>;

export const ServiceOfferStatusSchema = v.looseObject({
  conditions: v.optional(v.array(ConditionSchema), []),
  observedGeneration: v.optional(v.number()),
  endpoint: v.optional(v.string()),
  agentId: v.optional(v.string()),
  registrationTxHash: v.optional(v.string()),
  /**
   * The registrar's bookkeeping (core/registration-plan.ts): the URI registered, a transaction
   * reserved, a tombstone written. The registrar reads it strictly itself (controller/registrar.ts);
   * here, only whether something is pending or tombstoned, so that a garbled one never hides the rest.
   */
  registration: v.optional(v.looseObject({ pending: v.optional(v.unknown()), tombstoned: v.optional(v.unknown()) })),
});
export type ServiceOfferStatus = v.InferOutput<typeof ServiceOfferStatusSchema>;

/** What the core needs to address an offer even when its spec is invalid. */
export const ServiceOfferEnvelopeSchema = v.looseObject({
  apiVersion: v.literal(OFFER_API_VERSION),
  kind: v.literal(OFFER_KIND),
  metadata: ObjectMetaSchema,
  spec: v.optional(v.unknown()),
  status: v.optional(v.unknown()),
});
export type ServiceOfferEnvelope = v.InferOutput<typeof ServiceOfferEnvelopeSchema>;
