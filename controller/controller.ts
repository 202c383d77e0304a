// The controller: watches offers and every kind of child, and runs the pure core for each
// offer whose world changed, then carries out what it decided (apply-decision.ts).
// Everything it decides is in core/reconcile.ts; this file only observes and wires.
import type { Clock } from "../adapters/clock.ts";
import type { Logger } from "../adapters/log.ts";
import * as v from "valibot";
import type { OperatorConfig } from "../core/config.ts";
import { CHILD_KINDS, CHILD_RESOURCES, type ChildKind, SERVICE_OFFER } from "../core/kinds.ts";
import type { KubeObject } from "../core/kube.ts";
import type { UpstreamObservation } from "../core/observed.ts";
import { LABEL_MANAGED_BY, MANAGED_BY, ownerKeyOf } from "../core/ownership.ts";
import { reconcile } from "../core/reconcile.ts";
import { OFFER_KIND, ServiceOfferEnvelopeSchema } from "../core/service-offer.ts";
import type { KubeClient } from "../kube/client.ts";
import { type Informer, startInformer } from "../kube/informer.ts";
import { startWorkQueue } from "../kube/work-queue.ts";
import { applyDecision } from "./apply-decision.ts";
import type { EventRecorder } from "./events.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { ProbeScheduler } from "./probe-scheduler.ts";

export type ControllerOptions = {
  client: KubeClient;
  config: OperatorConfig;
  log: Logger;
  clock: Clock;
  probes: ProbeScheduler;
  events: EventRecorder;
  metrics: ControllerMetrics;
  concurrency?: number;
  /** Every offer is reconciled at least this often, even if no event arrives. */
  resyncMs?: number;
};

export type Controller = { readonly synced: boolean; enqueue(key: string): void; stop(): Promise<void> };

/** Children are found by the offer their annotation names ("namespace/name"). */
const BY_OWNER = {
  byOwner(child: KubeObject): string[] {
    const owner = ownerKeyOf(child.metadata);
    return owner ? [owner] : [];
  },
};

export function startController(options: ControllerOptions): Controller {
  const { client, config, log, clock, probes, metrics } = options;
  const resyncMs = options.resyncMs ?? 300_000;

  const queue = startWorkQueue({ clock, concurrency: options.concurrency ?? 4 }, (key) => reconcileKey(key), (key, error, retryInMs) =>
    log.warn("reconcile failed; retrying", { offer: key, error: (error as Error).message, retryInMs: Math.round(retryInMs) })
  );
  const enqueue = (key: string) => {
    queue.add(key);
    metrics.queueDepth(queue.depth);
  };

  // The informers hold the newest copy of each object, our own writes' answers included: a
  // watch event that only brings back what we wrote (or an older copy) is no news, since the
  // reconcile that wrote it already decided on it.
  const offers = startInformer({
    client, resource: SERVICE_OFFER, log,
    onChange: (offer) => enqueue(`${offer.metadata.namespace}/${offer.metadata.name}`),
  });
  const children = new Map<ChildKind, Informer<KubeObject, "byOwner">>(CHILD_KINDS.map((kind) => [kind, startInformer({
    client, resource: CHILD_RESOURCES[kind], log, labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`, index: BY_OWNER,
    onChange(child) {
      const owner = ownerKeyOf(child.metadata);
      if (owner) enqueue(owner);
    },
    // A kind that appears (its CRD installed late) may unblock every offer.
    onSync: () => offers.list().forEach((o) => enqueue(`${o.metadata.namespace}/${o.metadata.name}`)),
  })]));

  const cachesSynced = () => offers.synced && [...children.values()].every((i) => i.synced || i.missing);
  const remember = (object: KubeObject) => (object.kind === OFFER_KIND ? offers : children.get(object.kind as ChildKind))?.remember(object);

  const reconcileKey = async (key: string): Promise<{ requeueAfterMs?: number }> => {
    // Deciding from half-filled caches would re-apply what already exists: wait for all of them.
    if (!cachesSynced()) return { requeueAfterMs: 100 };
    const started = clock.now();
    const [namespace, name] = key.split("/") as [string, string];
    const raw = offers.get(namespace, name);
    if (!raw) {
      probes.forget(key);
      return {};
    }
    try {
      const offer = v.parse(ServiceOfferEnvelopeSchema, raw);
      const observedChildren = CHILD_KINDS.flatMap((kind) => children.get(kind)!.byIndex("byOwner", key));
      const missingKinds = CHILD_KINDS.filter((kind) => children.get(kind)!.missing);
      const decide = (upstream: UpstreamObservation | undefined) =>
        reconcile(offer, { upstream, children: observedChildren, missingKinds }, config, new Date(clock.now()));
      // The core says which upstream to probe. Decided first with the last observation; if
      // that was not of this target (a new offer, a changed spec) or none is wanted (invalid,
      // being deleted), decided again with what is then known.
      const known = probes.latest(key);
      let decision = decide(known);
      const upstream = decision.probe ? await probes.observe(key, decision.probe) : undefined;
      if (upstream !== known) decision = decide(upstream);

      await applyDecision({ client, config, metrics, events: options.events, remember }, raw, decision);
      if (decision.finalizer === "remove") probes.forget(key);
      metrics.reconciled("ok", (clock.now() - started) / 1000);
      // Level-triggered: look again at the latest after the core's delay, or at the resync.
      const requeue = decision.requeueAfterSeconds === undefined ? resyncMs : Math.min(resyncMs, decision.requeueAfterSeconds * 1000);
      return { requeueAfterMs: requeue * (0.9 + Math.random() * 0.2) };
    } catch (error) {
      metrics.reconciled("error", (clock.now() - started) / 1000);
      throw error;
    } finally {
      metrics.queueDepth(queue.depth);
    }
  };

  return {
    get synced() {
      return cachesSynced();
    },
    enqueue,
    async stop() {
      await queue.shutdown();
      probes.stop();
      await Promise.all([offers.stop(), ...[...children.values()].map((i) => i.stop())]);
    },
  };
}
