// Carries out what the core decided for one offer, in the only safe order: the finalizer
// before anything exists to clean up; the gate's children at once (none depends on
// another), the HTTPRoute only after they all succeeded, so that no path is public before
// its payment gate; the deletes; the status last, saying what these writes achieved; the
// finalizer's removal after the deletes; the Events once all of it held. Any failed write
// throws (KubeApiError) and the work queue retries the whole round.
import { finalizersWeRemove } from "../core/ownership.ts";
import { CONDITION_TYPES } from "../core/conditions.ts";
import type { OperatorConfig } from "../core/config.ts";
import { HTTP_ROUTE } from "../core/kinds.ts";
import type { KubeObject } from "../core/kube.ts";
import type { ReconcileResult } from "../core/reconcile.ts";
import { OFFER_KIND } from "../core/service-offer.ts";
import type { KubeClient } from "../kube/client.ts";
import type { EventRecorder } from "./events.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { addFinalizer, applyObject, applyOfferStatus, deleteObject, removeFinalizers } from "./writes.ts";

/** The conditions our status writes own; others' (e.g. Registered) stay theirs. */
export const MANAGED_CONDITIONS = [...CONDITION_TYPES, "Ready"];

export type ApplyDeps = {
  client: KubeClient;
  config: OperatorConfig;
  metrics: ControllerMetrics;
  events: EventRecorder;
  /** Told of each object as a write left it, so the next round does not decide from an older copy. */
  remember(object: KubeObject): void;
};

export async function applyDecision(deps: ApplyDeps, offer: KubeObject, decision: ReconcileResult): Promise<void> {
  const { client, config, metrics, remember } = deps;
  const ref = { namespace: offer.metadata.namespace ?? "default", name: offer.metadata.name };
  if (decision.finalizer === "add") {
    remember(await addFinalizer(client, ref, offer.metadata, config.finalizer));
    metrics.wrote(OFFER_KIND, "finalizer");
  }
  const write = async (objects: KubeObject[]) => {
    const outcomes = await Promise.allSettled(objects.map((object) => applyObject(client, object)));
    outcomes.forEach((outcome, i) => outcome.status === "fulfilled" && (remember(outcome.value), metrics.wrote(objects[i]!.kind, "apply")));
    const failed = outcomes.find((o) => o.status === "rejected");
    if (failed) throw failed.reason;
  };
  await write(decision.apply.filter((c) => c.kind !== HTTP_ROUTE.kind));
  await write(decision.apply.filter((c) => c.kind === HTTP_ROUTE.kind));
  for (const stale of decision.delete) {
    await deleteObject(client, stale);
    metrics.wrote(stale.kind, "delete");
  }
  if (decision.statusChanged) {
    remember(await applyOfferStatus(client, ref, decision.status, MANAGED_CONDITIONS));
    metrics.wrote(OFFER_KIND, "status");
  }
  if (decision.finalizer === "remove") {
    await removeFinalizers(client, ref, offer.metadata.finalizers ?? [], finalizersWeRemove(config.finalizer));
    metrics.wrote(OFFER_KIND, "finalizer");
  }
  for (const event of decision.events) deps.events(offer, event);
}
