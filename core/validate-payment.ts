// One way to pay an offer (its `payment`, or an entry of `payments`), judged on what the CRD
// cannot check: a known network, a token whose decimals are known, a payee that can collect,
// and a price the token can express. Each problem names its field.
import { type Asset, resolveAsset } from "./assets.ts";
import type { FieldIssue } from "./field-issues.ts";
import { findNetwork, type Network } from "./networks.ts";
import { payToProblem } from "./pay-to.ts";
import { effectivePrice, type EffectivePrice } from "./price.ts";
import type { Payment } from "./service-offer.ts";

/** A payment made concrete: what its 402 entry asks for. */
export type PaymentTerms = { payment: Payment; network: Network; asset: Asset; price: EffectivePrice };

export type PaymentValidation = { ok: true; terms: PaymentTerms } | { ok: false; issues: FieldIssue[] };

/** `field` names the payment in the spec: "spec.payment" or "spec.payments.1". */
export function validatePayment(payment: Payment, field: string, networks: readonly Network[]): PaymentValidation {
  const issues: FieldIssue[] = [];
  const network = findNetwork(networks, payment.network);
  if (!network) {
    const known = networks.map((n) => n.name).join(", ");
    issues.push({ field: `${field}.network`, message: `unknown network "${payment.network}" (known: ${known})` });
  }
  const asset = network ? resolveAsset(payment.asset, network, `${field}.asset`) : undefined;
  if (asset && !asset.ok) issues.push(...asset.issues);
  const token = asset?.ok ? asset.asset : undefined;
  const payToIssue = payToProblem(payment.payTo, network, token?.address);
  if (payToIssue) issues.push({ field: `${field}.payTo`, message: payToIssue });
  // Judged in the token's decimals; on an unknown network, in those the payment names (USDC's when it names none).
  const decimals = token?.decimals ?? (network ? undefined : payment.asset ? payment.asset.decimals : 6);
  const price = decimals === undefined ? undefined : effectivePrice(payment.price, decimals, `${field}.price`);
  if (price && !price.ok) issues.push(price.issue);
  if (issues.length > 0 || !network || !token || !price?.ok) return { ok: false, issues };
  return { ok: true, terms: { payment, network, asset: token, price: price.price } };
}

/** Two payments on one network in one token would be one accept twice, priced twice: which one a buyer meant is a guess. */
export function duplicatePayment(terms: readonly PaymentTerms[], fields: readonly string[]): FieldIssue | undefined {
  const seen = new Map<string, string>();
  for (const [index, t] of terms.entries()) {
    const key = `${t.network.chainId}:${t.asset.address.toLowerCase()}`;
    const first = seen.get(key);
    if (first !== undefined) {
      return { field: fields[index]!, message: `pays ${t.asset.symbol} on ${t.network.name}, as ${first} does: one accept per network and token` };
    }
    seen.set(key, fields[index]!);
  }
  return undefined;
}
