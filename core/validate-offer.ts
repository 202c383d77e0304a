// Everything that must hold for an offer to be published, in one place: the schema (as
// the CRD states it) and the checks the CRD cannot make (known network, a payee that can
// collect, price precision, a path that normalizes to itself). Each problem names its field.
import { registrationIssues } from "./agent-registration.ts";
import * as v from "valibot";
import type { Asset } from "./assets.ts";
import type { OperatorConfig } from "./config.ts";
import type { FieldIssue } from "./field-issues.ts";
import type { Network } from "./networks.ts";
import type { EffectivePrice } from "./price.ts";
import { duplicatePayment, type PaymentTerms, validatePayment } from "./validate-payment.ts";
import { type ServiceOfferSpec, ServiceOfferSpecSchema } from "./service-offer.ts";
import { reservedPathIssue } from "./reserved-paths.ts";
import { specIssues } from "./unknown-fields.ts";
import { MAX_SPEC_DEPTH, nestingDepth } from "./json-depth.ts";

export type ValidOffer = {
  spec: ServiceOfferSpec;
  network: Network;
  /** What the price is counted in: the offer's asset, or the network's USDC. */
  asset: Asset;
  price: EffectivePrice;
  /** `spec.payments`, made concrete: offered after `payment` in the same 402. */
  alternatives: PaymentTerms[];
  /** The public path prefix, without a trailing slash ("/" only for the root). */
  path: string;
};

export type OfferValidation = { ok: true; offer: ValidOffer } | { ok: false; issues: FieldIssue[] };

export function validateOffer(name: string, rawSpec: unknown, config: OperatorConfig, namespace?: string): OfferValidation {
  // Measured before any recursive walk (valibot's, JSON.stringify's) can overflow on it.
  if (nestingDepth(rawSpec) > MAX_SPEC_DEPTH) return { ok: false, issues: [{ field: "spec", message: `nests deeper than ${MAX_SPEC_DEPTH} levels (or holds too many values)` }] };
  const parsed = v.safeParse(ServiceOfferSpecSchema, rawSpec ?? {});
  if (!parsed.success) return { ok: false, issues: specIssues(ServiceOfferSpecSchema, rawSpec ?? {}, parsed.issues, "spec") };
  const spec = parsed.output;
  const issues: FieldIssue[] = [];

  const primary = validatePayment(spec.payment, "spec.payment", config.networks);
  if (!primary.ok) issues.push(...primary.issues);
  const alternatives: PaymentTerms[] = [];
  const fields = ["spec.payment"];
  for (const [index, payment] of (spec.payments ?? []).entries()) {
    const field = `spec.payments.${index}`;
    if (payment.upto) issues.push({ field: `${field}.upto`, message: "is set on spec.payment only: one metered accept per offer" });
    const validated = validatePayment(payment, field, config.networks);
    if (validated.ok) {
      alternatives.push(validated.terms);
      fields.push(field);
    } else issues.push(...validated.issues);
  }
  if (primary.ok && issues.length === 0) {
    const duplicate = duplicatePayment([primary.terms, ...alternatives], fields);
    if (duplicate) issues.push(duplicate);
  }
  issues.push(...dataPathIssues(name, spec, namespace));
  if (primary.ok) issues.push(...registrationIssues(spec, primary.terms.network));

  const path = normalizePublicPath(spec.path ?? `/services/${name}`);
  if (typeof path !== "string") issues.push(path);
  const reserved = typeof path === "string" ? reservedPathIssue(path) : undefined;
  if (reserved) issues.push(reserved);

  if (issues.length > 0 || !primary.ok || typeof path !== "string") return { ok: false, issues };
  const { network, asset, price } = primary.terms;
  return { ok: true, offer: { spec, network, asset, price, alternatives, path } };
}

/**
 * The verifier matches normalized paths; a route whose own path would normalize to
 * something else could never be matched, so such paths are refused here.
 */
function normalizePublicPath(path: string): string | FieldIssue {
  const segments = path.split("/").slice(1);
  if (segments.some((s) => s === "." || s === "..")) {
    return { field: "spec.path", message: `must not contain "." or ".." segments (got "${path}")` };
  }
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed.includes("//")) return { field: "spec.path", message: `must not contain "//" (got "${path}")` };
  return trimmed === "" ? "/" : trimmed;
}

/**
 * The data path forwards only to a Service of the PaymentRoute's own namespace (the verifier
 * refuses others), and metered payments need it and a per-token price.
 */
function dataPathIssues(_name: string, spec: ServiceOfferSpec, namespace: string | undefined): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (spec.dataPath && namespace !== undefined && spec.upstream.namespace !== namespace) {
    issues.push({ field: "spec.dataPath", message: `needs the upstream in the offer's own namespace ${namespace} (got ${spec.upstream.namespace}): the verifier forwards only to Services of a route's own namespace` });
  }
  if (spec.payment.upto) {
    if (!spec.dataPath) issues.push({ field: "spec.payment.upto", message: "needs dataPath: true, a metered charge is known only once the upstream answered" });
    if (spec.payment.price.perRequest !== undefined || spec.payment.price.perMTok === undefined) {
      issues.push({ field: "spec.payment.upto", message: "needs a perMTok price (and no perRequest): upto charges per token used" });
    }
  }
  return issues;
}
