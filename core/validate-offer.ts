// Everything that must hold for an offer to be published, in one place: the schema (as
// the CRD states it) and the checks the CRD cannot make (known network, a payee that can
// collect, price precision, a path that normalizes to itself). Each problem names its field.
import * as v from "valibot";
import type { OperatorConfig } from "./config.ts";
import type { FieldIssue } from "./field-issues.ts";
import { findNetwork, type Network } from "./networks.ts";
import { payToProblem } from "./pay-to.ts";
import { effectivePrice, type EffectivePrice } from "./price.ts";
import { type ServiceOfferSpec, ServiceOfferSpecSchema } from "./service-offer.ts";
import { reservedPathIssue } from "./reserved-paths.ts";
import { specIssues } from "./unknown-fields.ts";

export type ValidOffer = {
  spec: ServiceOfferSpec;
  network: Network;
  price: EffectivePrice;
  /** The public path prefix, without a trailing slash ("/" only for the root). */
  path: string;
};

export type OfferValidation = { ok: true; offer: ValidOffer } | { ok: false; issues: FieldIssue[] };

export function validateOffer(name: string, rawSpec: unknown, config: OperatorConfig): OfferValidation {
  const parsed = v.safeParse(ServiceOfferSpecSchema, rawSpec ?? {});
  if (!parsed.success) return { ok: false, issues: specIssues(ServiceOfferSpecSchema, rawSpec ?? {}, parsed.issues, "spec") };
  const spec = parsed.output;
  const issues: FieldIssue[] = [];

  const network = findNetwork(config.networks, spec.payment.network);
  if (!network) {
    const known = config.networks.map((n) => n.name).join(", ");
    issues.push({ field: "spec.payment.network", message: `unknown network "${spec.payment.network}" (known: ${known})` });
  }
  const payToIssue = payToProblem(spec.payment.payTo, network);
  if (payToIssue) issues.push({ field: "spec.payment.payTo", message: payToIssue });
  const price = effectivePrice(spec.payment.price, network?.decimals ?? 6);
  if (!price.ok) issues.push(price.issue);

  const path = normalizePublicPath(spec.path ?? `/services/${name}`);
  if (typeof path !== "string") issues.push(path);
  const reserved = typeof path === "string" ? reservedPathIssue(path) : undefined;
  if (reserved) issues.push(reserved);

  if (issues.length > 0 || !network || !price.ok || typeof path !== "string") return { ok: false, issues };
  return { ok: true, offer: { spec, network, price: price.price, path } };
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
