// Everything that must hold for an offer to be published, in one place: the schema (as
// the CRD states it) and the checks the CRD cannot make (known network, a payee that can
// collect, price precision, a path that normalizes to itself). Each problem names its field.
import * as v from "valibot";
import { type Asset, resolveAsset } from "./assets.ts";
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
  /** What the price is counted in: the offer's asset, or the network's USDC. */
  asset: Asset;
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
  const asset = network ? resolveAsset(spec.payment.asset, network, "spec.payment.asset") : undefined;
  if (asset && !asset.ok) issues.push(...asset.issues);
  const token = asset?.ok ? asset.asset : undefined;
  const payToIssue = payToProblem(spec.payment.payTo, network, token?.address);
  if (payToIssue) issues.push({ field: "spec.payment.payTo", message: payToIssue });
  // Judged in the token's decimals; on an unknown network, in those the offer names (USDC's when it names none).
  const decimals = token?.decimals ?? (network ? undefined : spec.payment.asset ? spec.payment.asset.decimals : 6);
  const price = decimals === undefined ? undefined : effectivePrice(spec.payment.price, decimals);
  if (price && !price.ok) issues.push(price.issue);

  const path = normalizePublicPath(spec.path ?? `/services/${name}`);
  if (typeof path !== "string") issues.push(path);
  const reserved = typeof path === "string" ? reservedPathIssue(path) : undefined;
  if (reserved) issues.push(reserved);

  if (issues.length > 0 || !network || !token || !price?.ok || typeof path !== "string") return { ok: false, issues };
  return { ok: true, offer: { spec, network, asset: token, price: price.price, path } };
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
