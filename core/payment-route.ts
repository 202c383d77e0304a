// The PaymentRoute resource (obol.org/v1alpha1): what the verifier charges for one path
// pattern. The controller writes its spec; the verifier validates it with this schema
// and reports admission in its status.
import * as v from "valibot";
import { AssetSpecSchema } from "./assets.ts";
import { toAtomicExact } from "./decimal.ts";
import type { FieldIssue } from "./field-issues.ts";
import { apiVersionOf, PAYMENT_ROUTE } from "./kinds.ts";
import { ObjectMetaSchema } from "./kube.ts";
import { AddressSchema } from "./pay-to.ts";
import { RouteRegistrationSchema } from "./registration-document.ts";
import { decimalPrice as decimal, SecretKeyRefSchema } from "./service-offer.ts";

export const PAYMENT_ROUTE_API_VERSION = apiVersionOf(PAYMENT_ROUTE);
export const PAYMENT_ROUTE_KIND = PAYMENT_ROUTE.kind;

export const MAX_PATTERN_LENGTH = 256;
export const MAX_PATTERN_STARS = 8;
export const MAX_DESCRIPTION_LENGTH = 1024;
/** Every 402 of the route carries it: kept small. */
export const MAX_BAZAAR_BYTES = 8192;

const positiveInteger = v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1, "must be at least 1"));

/** Where the data path forwards a route's paid requests, and the public prefix it strips first. */
export const UpstreamSchema = v.strictObject({
  url: v.pipe(v.string(), v.maxLength(2048, "must be at most 2048 characters"), v.regex(/^https?:\/\/[^\s]+$/, "must be an http:// or https:// URL")),
  stripPrefix: v.optional(v.pipe(v.string(), v.regex(/^\/[a-zA-Z0-9/_.-]*$/, "must be a path starting with '/'"))),
});
export type Upstream = v.InferOutput<typeof UpstreamSchema>;

/** Another way to pay the route, offered after its own terms in the same 402 (an offer's `payments`). */
export const AlternativeSchema = v.strictObject({
  network: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  asset: v.optional(AssetSpecSchema),
  price: decimal,
  amount: v.optional(v.pipe(v.string(), v.regex(/^[1-9]\d{0,77}$/, "must be a positive whole number of atomic units"))),
  payTo: AddressSchema,
  scheme: v.optional(v.picklist(["exact"]), "exact"),
  maxTimeoutSeconds: v.optional(positiveInteger, 300),
});
export type Alternative = v.InferOutput<typeof AlternativeSchema>;
export const MAX_ALTERNATIVES = 8;

export const PaymentRouteSpecSchema = v.strictObject({
  // Bounded so that no route can make another request's lookup slow: every lookup may walk
  // a glob, and a glob's cost grows with its length and its stars.
  pattern: v.pipe(
    v.string(),
    v.regex(/^\/[a-zA-Z0-9/_.*-]*$/, "must be a path pattern starting with '/'"),
    v.maxLength(MAX_PATTERN_LENGTH, `must be at most ${MAX_PATTERN_LENGTH} characters`),
    v.check((p) => p.split("*").length - 1 <= MAX_PATTERN_STARS, `must have at most ${MAX_PATTERN_STARS} "*"`),
    v.check((p) => p.split("/").every((segment) => segment.split("*").length <= 2), `must have at most one "*" per segment`),
  ),
  /** What users write and `kubectl get pr` shows: the price the route charges. */
  price: decimal,
  /** The price in atomic units; derived from `price` when absent, refused when it disagrees. */
  amount: v.optional(v.pipe(
    v.string(),
    v.regex(/^[1-9]\d{0,77}$/, "must be a positive whole number of atomic units"),
  )),
  payTo: AddressSchema,
  network: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  /** The token the price is in; the network's USDC when absent. */
  asset: v.optional(AssetSpecSchema),
  scheme: v.optional(v.picklist(["exact"]), "exact"),
  maxTimeoutSeconds: v.optional(positiveInteger, 300),
  // Every unpaid answer carries these: bounded, so a route cannot make its 402s huge.
  description: v.optional(v.pipe(v.string(), v.maxLength(MAX_DESCRIPTION_LENGTH, `must be at most ${MAX_DESCRIPTION_LENGTH} characters`)), ""),
  mimeType: v.optional(v.pipe(v.string(), v.maxLength(128, "must be at most 128 characters"))),
  priceModel: v.optional(v.picklist(["perRequest", "perMTok", "perHour"]), "perRequest"),
  perRequest: v.optional(decimal),
  perMTok: v.optional(decimal),
  perHour: v.optional(decimal),
  approxTokensPerRequest: v.optional(positiveInteger),
  approxSecondsPerRequest: v.optional(positiveInteger),
  upstreamAuth: v.optional(SecretKeyRefSchema),
  upstreamHealthy: v.optional(v.boolean(), true),
  alternatives: v.optional(v.pipe(v.array(AlternativeSchema), v.maxLength(MAX_ALTERNATIVES, `must list at most ${MAX_ALTERNATIVES}`))),
  /**
   * The data path: the verifier forwards paid requests to this upstream itself and settles only
   * once it delivered. Absent: ForwardAuth only (Traefik forwards).
   */
  upstream: v.optional(UpstreamSchema),
  /**
   * Metered payments (x402 `upto`): beside the route's own terms, the 402 offers to pay for the
   * tokens actually used, at perMTok, up to a maximum read from the request and capped here.
   * Needs the data path (upstream) and priceModel perMTok.
   */
  upto: v.optional(v.strictObject({
    maxTokens: v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1, "must be at least 1"), v.maxValue(100_000_000, "must be at most 100000000")),
  })),
  /** The x402 Bazaar extension its 402 carries (and /.well-known/x402 lists), when the offer opts in; bounded. */
  bazaar: v.optional(v.pipe(
    v.strictObject({ info: v.record(v.string(), v.unknown()), schema: v.record(v.string(), v.unknown()) }),
    v.check((b) => JSON.stringify(b).length <= MAX_BAZAAR_BYTES, `must be at most ${MAX_BAZAAR_BYTES} bytes of JSON`),
  )),
  /** The offer's ERC-8004 registration document, which the verifier serves on the host. */
  registration: v.optional(RouteRegistrationSchema),
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

/** The most a token amount can be: transfers carry a uint256. */
export const MAX_UINT256 = 2n ** 256n - 1n;
const MAX_UINT256_DIGITS = MAX_UINT256.toString().length;

/**
 * The atomic units the route charges: its `price` in the network's token decimals. The
 * price decides, because it is what people read; an `amount` that says otherwise would
 * charge something nobody sees, so it is refused rather than preferred.
 */
export type AmountResult = { ok: true; amount: bigint } | { ok: false; issue: FieldIssue };

export function routeAmount(spec: Pick<PaymentRouteSpec, "price" | "amount">, token: { decimals: number; symbol: string }): AmountResult {
  const amount = priceInUnits(spec.price, token.decimals);
  if (typeof amount !== "bigint") return { ok: false, issue: amount };
  if (spec.amount === undefined || spec.amount === amount.toString()) return { ok: true, amount };
  return { ok: false, issue: {
    field: "spec.amount",
    message: `"${spec.amount}" disagrees with spec.price ${quoted(spec.price)}, which means ${amount} atomic units ` +
      `of ${token.symbol} (${token.decimals} decimals); set amount to "${amount}" or leave it out`,
  } };
}

function priceInUnits(price: string, decimals: number): bigint | FieldIssue {
  const refuse = (message: string): FieldIssue => ({ field: "spec.price", message: `${message} (got ${quoted(price)})` });
  const malformed = `must be a decimal number such as "0.001"`;
  if (!/^\d+(\.\d+)?$/.test(price)) return refuse(malformed);
  // Judged on the significant digits before any bigint exists, so that a price written with
  // a million digits costs a string scan, not a million-digit conversion.
  const [whole = "", fraction = ""] = price.split(".");
  const significantWhole = whole.replace(/^0+/, "");
  const significantFraction = fraction.slice(0, lastNonZero(fraction) + 1);
  if (significantFraction.length > decimals) {
    return refuse(`has more than ${decimals} decimals, finer than the token's smallest unit`);
  }
  const tooLarge = "is too large: it means more than 2^256-1 atomic units, the most a token transfer can carry";
  if (significantWhole.length > MAX_UINT256_DIGITS) return refuse(tooLarge);
  const amount = toAtomicExact(`${significantWhole || "0"}${significantFraction ? `.${significantFraction}` : ""}`, decimals);
  if (typeof amount !== "bigint") return refuse(malformed);
  if (amount === 0n) return refuse("must be greater than 0");
  return amount > MAX_UINT256 ? refuse(tooLarge) : amount;
}

function lastNonZero(digits: string): number {
  let index = digits.length - 1;
  while (index >= 0 && digits[index] === "0") index--;
  return index;
}

function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}
