// How a child says which offer it belongs to. Same-namespace children carry an
// ownerReference (so the garbage collector deletes them with the offer); every child,
// including the cross-namespace ReferenceGrant that no ownerReference may point from,
// carries labels to find it and an annotation naming its offer exactly.
import type { ObjectMeta, OwnerReference } from "./kube.ts";
import { childName } from "./names.ts";
import { OFFER_API_VERSION, OFFER_KIND } from "./service-offer.ts";

export const MANAGED_BY = "x402-operator";
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const LABEL_OFFER_NAME = "obol.org/offer-name";
export const LABEL_OFFER_NAMESPACE = "obol.org/offer-namespace";
export const ANNOTATION_OFFER = "obol.org/offer";
/**
 * Finalizers that obol-stack's newer controllers put on offers. An offer carrying one would
 * hang on delete under us: we clean up as for our own, and remove it with ours.
 */
export const OBOL_STACK_FINALIZERS: readonly string[] = ["monetize.obol.org/finalizer"];

/** The finalizers this operator removes once an offer's cleanup is done. */
export function finalizersWeRemove(ours: string): readonly string[] {
  return [ours, ...OBOL_STACK_FINALIZERS];
}

export type OfferIdentity = { namespace: string; name: string; uid?: string };

export function childLabels(offer: OfferIdentity): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_OFFER_NAME]: childName("", offer.name),
    [LABEL_OFFER_NAMESPACE]: offer.namespace,
  };
}

/** The child's metadata; ownerReferences only in the offer's own namespace, and only once the offer has a uid. */
export function childMetadata(offer: OfferIdentity, name: string, namespace: string): ObjectMeta & { ownerReferences?: OwnerReference[] } {
  const metadata: ObjectMeta & { ownerReferences?: OwnerReference[] } = {
    name,
    namespace,
    labels: childLabels(offer),
    annotations: { [ANNOTATION_OFFER]: `${offer.namespace}/${offer.name}` },
  };
  if (namespace === offer.namespace && offer.uid) metadata.ownerReferences = [ownerReference(offer, offer.uid)];
  return metadata;
}

function ownerReference(offer: OfferIdentity, uid: string): OwnerReference {
  return { apiVersion: OFFER_API_VERSION, kind: OFFER_KIND, name: offer.name, uid, controller: true, blockOwnerDeletion: true };
}

/** The offer a child belongs to, as "namespace/name", read from its annotation. */
export function ownerKeyOf(metadata: ObjectMeta): string | undefined {
  const key = metadata.annotations?.[ANNOTATION_OFFER];
  return key && key.includes("/") ? key : undefined;
}
