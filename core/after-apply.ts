// A child as this round's apply will leave it. The status is written at the end of the
// round, after the applies succeeded (a failed apply fails the round, and no status is
// written), so it must describe the children as the round leaves them: "waiting for X to
// be applied" right after X was applied would be stale as it is written, and cost a
// second status write to correct.
import { containsDesired } from "./contains.ts";
import { ANNOTATION_FINGERPRINT } from "./fingerprint.ts";
import type { KubeObject } from "./kube.ts";
import type { ChildView } from "./offer-conditions.ts";

export function afterApply(view: ChildView): ChildView {
  const { desired, current } = view;
  // Status belongs to others (the verifier, the gateway) and says which generation it
  // judged: a spec the apply changes is a new generation, which nobody has judged yet.
  const generation = current === undefined ? 1 : specKept(current, desired) ? current.metadata.generation : (current.metadata.generation ?? 0) + 1;
  const metadata = generation === undefined ? desired.metadata : { ...desired.metadata, generation };
  return { desired, current: { ...desired, metadata, status: current?.status }, inPlace: true };
}

/**
 * The apply leaves the spec as it is when it already holds every field we set, and our
 * desire is the one last applied (a different one may drop a field we set before).
 */
function specKept(current: KubeObject, desired: KubeObject): boolean {
  const fingerprint = (o: KubeObject) => o.metadata.annotations?.[ANNOTATION_FINGERPRINT];
  return fingerprint(current) === fingerprint(desired) && containsDesired(current.spec, desired.spec);
}
