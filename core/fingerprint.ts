// Is a child already as we want it? Comparing values alone misses a field we stopped
// setting (server-side apply removes it, but only if we apply again), so each applied
// child carries a fingerprint of everything we sent: a changed desire changes it.
import { containsDesired } from "./contains.ts";
import type { KubeObject } from "./kube.ts";
import { fnv1a64 } from "./names.ts";
import { canonicalJson } from "./yaml-order.ts";

export const ANNOTATION_FINGERPRINT = "obol.org/desired-fingerprint";

export function withFingerprint(desired: KubeObject): KubeObject {
  const fingerprint = fnv1a64(canonicalJson(desired));
  const annotations = { ...desired.metadata.annotations, [ANNOTATION_FINGERPRINT]: fingerprint };
  return { ...desired, metadata: { ...desired.metadata, annotations } };
}

/** In place: applied from the same desire, and nobody has changed a field we set since. */
export function isInPlace(current: KubeObject | undefined, stamped: KubeObject): boolean {
  return current !== undefined && containsDesired(current, stamped);
}
