// What `render` prints: the children every offer in a set of documents would get, on a
// cluster where nothing exists yet. Pure, so it runs the same wherever it runs.
import * as v from "valibot";
import type { OperatorConfig } from "./config.ts";
import { formatFieldIssues, toFieldIssues } from "./field-issues.ts";
import type { KubeObject } from "./kube.ts";
import { NOTHING_OBSERVED } from "./observed.ts";
import { reconcile } from "./reconcile.ts";
import { type AgentRegistration, registrationDocument } from "./agent-registration.ts";
import { validateOffer } from "./validate-offer.ts";
import { OFFER_KIND, ServiceOfferEnvelopeSchema, ServiceOfferStatusSchema } from "./service-offer.ts";

/** `registration`: the ERC-8004 document the offer would publish, when it enables registration. */
export type RenderedOffer = { offer: string; children: KubeObject[]; registration?: AgentRegistration };
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
    else rendered.push({ offer: key, children: result.desired, registration: registrationOf(offer, namespace, config) });
  });
  rendered.sort((a, b) => (a.offer < b.offer ? -1 : a.offer > b.offer ? 1 : 0));
  return { rendered, errors };
}

function registrationOf(offer: v.InferOutput<typeof ServiceOfferEnvelopeSchema>, namespace: string, config: OperatorConfig): AgentRegistration | undefined {
  const valid = validateOffer(offer.metadata.name, offer.spec, config, namespace);
  if (!valid.ok) return undefined;
  const status = v.safeParse(ServiceOfferStatusSchema, offer.status ?? {});
  const agentId = status.success ? status.output.agentId : undefined;
  return registrationDocument({ namespace, name: offer.metadata.name }, valid.offer.spec, valid.offer.path, valid.offer.network, config.publicUrl, agentId);
}

function isOffer(doc: unknown): boolean {
  return typeof doc === "object" && doc !== null && (doc as { kind?: unknown }).kind === OFFER_KIND;
}
