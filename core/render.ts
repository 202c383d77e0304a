// What `render` prints: the children every offer in a set of documents would get, on a
// cluster where nothing exists yet. Pure, so it runs the same wherever it runs.
import * as v from "valibot";
import type { OperatorConfig } from "./config.ts";
import { formatFieldIssues, toFieldIssues } from "./field-issues.ts";
import type { KubeObject } from "./kube.ts";
import { NOTHING_OBSERVED } from "./observed.ts";
import { reconcile } from "./reconcile.ts";
import { OFFER_KIND, ServiceOfferEnvelopeSchema } from "./service-offer.ts";

export type RenderedOffer = { offer: string; children: KubeObject[] };
export type RenderResult = { rendered: RenderedOffer[]; errors: string[] };

/** `now` only stamps conditions, which render does not print; it is a parameter to keep the core clock-free. */
export function renderOffers(documents: readonly unknown[], config: OperatorConfig, defaultNamespace: string, now: Date): RenderResult {
  const rendered: RenderedOffer[] = [];
  const errors: string[] = [];
  documents.forEach((doc, index) => {
    if (!isOffer(doc)) return;
    const parsed = v.safeParse(ServiceOfferEnvelopeSchema, doc);
    if (!parsed.success) {
      errors.push(`document ${index + 1} (ServiceOffer): ${formatFieldIssues(toFieldIssues("", parsed.issues))}`);
      return;
    }
    const offer = parsed.output;
    const namespace = offer.metadata.namespace ?? defaultNamespace;
    const key = `${namespace}/${offer.metadata.name}`;
    const result = reconcile({ ...offer, metadata: { ...offer.metadata, namespace } }, NOTHING_OBSERVED, config, now);
    if (result.issues.length > 0) errors.push(`ServiceOffer ${key}: ${formatFieldIssues(result.issues)}`);
    else rendered.push({ offer: key, children: result.desired });
  });
  rendered.sort((a, b) => (a.offer < b.offer ? -1 : a.offer > b.offer ? 1 : 0));
  return { rendered, errors };
}

function isOffer(doc: unknown): boolean {
  return typeof doc === "object" && doc !== null && (doc as { kind?: unknown }).kind === OFFER_KIND;
}
