// Every write the controller makes, in the form the API server wants it: children by
// server-side apply (our field manager, forced, only the fields we own), status through
// the status subresource, finalizers by JSON patch guarded by a test operation so that
// another controller's finalizers are never clobbered.
import { childResource, SERVICE_OFFER } from "../core/kinds.ts";
import type { KubeObject, ObjectRef } from "../core/kube.ts";
import { OFFER_API_VERSION, OFFER_KIND, type ServiceOfferStatus } from "../core/service-offer.ts";
import type { KubeClient } from "../kube/client.ts";
import { isKubeError, KubeApiError } from "../kube/errors.ts";
import { resourcePath } from "../kube/resources.ts";

export const FIELD_MANAGER = "x402-operator";
const APPLY = "application/apply-patch+yaml";

export type OfferRef = { namespace: string; name: string };

function resourceOf(kind: string) {
  const resource = childResource(kind);
  if (!resource) throw new KubeApiError("invalid", 0, `unknown kind ${kind}`);
  return resource;
}

/** Server-side apply; returns the object as stored. JSON is YAML, so the body is plain JSON. */
export function applyObject(client: KubeClient, object: KubeObject): Promise<KubeObject> {
  const path = resourcePath(resourceOf(object.kind), object.metadata.namespace, object.metadata.name);
  return client.request<KubeObject>("PATCH", path, { body: object, contentType: APPLY, query: { fieldManager: FIELD_MANAGER, force: true } });
}

/** Deletes; an object already gone counts as deleted. */
export async function deleteObject(client: KubeClient, ref: ObjectRef): Promise<void> {
  try {
    await client.request("DELETE", resourcePath(resourceOf(ref.kind), ref.namespace, ref.name), { body: { propagationPolicy: "Background" } });
  } catch (error) {
    if (!isKubeError(error, "not-found")) throw error;
  }
}

/**
 * Applies the fields of the status we own: our conditions, observedGeneration, endpoint.
 * Fields other writers own (agentId, registrationTxHash, their conditions) stay theirs.
 */
export function applyOfferStatus(client: KubeClient, offer: OfferRef, status: ServiceOfferStatus, managedConditions: readonly string[]): Promise<KubeObject> {
  const path = resourcePath(SERVICE_OFFER, offer.namespace, offer.name, "status");
  const owned = {
    observedGeneration: status.observedGeneration,
    endpoint: status.endpoint,
    conditions: status.conditions.filter((c) => managedConditions.includes(c.type)),
  };
  const body = { apiVersion: OFFER_API_VERSION, kind: OFFER_KIND, metadata: { name: offer.name, namespace: offer.namespace }, status: owned };
  return client.request<KubeObject>("PATCH", path, { body, contentType: APPLY, query: { fieldManager: `${FIELD_MANAGER}-status`, force: true } });
}

/**
 * Adds our finalizer, keeping every other one. The patch fails (422) if the list changed
 * since we read it; with no list yet, if the object changed at all.
 */
export function addFinalizer(client: KubeClient, offer: OfferRef, seen: { finalizers?: readonly string[]; resourceVersion?: string }, finalizer: string): Promise<KubeObject> {
  const current = seen.finalizers ?? [];
  const patch = current.length === 0
    ? [{ op: "test", path: "/metadata/resourceVersion", value: seen.resourceVersion }, { op: "add", path: "/metadata/finalizers", value: [finalizer] }]
    : [{ op: "test", path: "/metadata/finalizers", value: current }, { op: "add", path: "/metadata/finalizers/-", value: finalizer }];
  return patchJson(client, offer, patch);
}

/** Removes our finalizer only, at the index it had when we read the list. */
/** Removes those of `finalizers` the offer carries, leaving every other; each removal tested first, from the highest index down. */
export function removeFinalizers(client: KubeClient, offer: OfferRef, current: readonly string[], finalizers: readonly string[]): Promise<KubeObject> {
  const indexes = current.flatMap((name, index) => (finalizers.includes(name) ? [index] : [])).reverse();
  return patchJson(client, offer, indexes.flatMap((index) => [
    { op: "test", path: `/metadata/finalizers/${index}`, value: current[index] },
    { op: "remove", path: `/metadata/finalizers/${index}` },
  ]));
}

function patchJson(client: KubeClient, offer: OfferRef, patch: unknown[]): Promise<KubeObject> {
  return client.request<KubeObject>("PATCH", resourcePath(SERVICE_OFFER, offer.namespace, offer.name), { body: patch, contentType: "application/json-patch+json", query: { fieldManager: FIELD_MANAGER } });
}
