// The controller: watches offers and every kind of child, and runs the pure core for each
// offer whose world changed, then carries out what it decided. Everything it decides is
// in core/reconcile.ts; this file only observes and writes, in a safe order.
import type { Clock } from "../adapters/clock.ts";
import type { Logger } from "../adapters/log.ts";
import type { ProbeTarget } from "./health-probe.ts";
import type { ProbeScheduler } from "./probe-scheduler.ts";
import * as v from "valibot";
import { CONDITION_TYPES } from "../core/conditions.ts";
import type { OperatorConfig } from "../core/config.ts";
import type { KubeObject } from "../core/kube.ts";
import { CHILD_KINDS, CHILD_RESOURCES, type ChildKind, SERVICE_OFFER } from "../core/kinds.ts";
import type { Observed } from "../core/observed.ts";
import { readStatus } from "../core/offer-status.ts";
import { LABEL_MANAGED_BY, MANAGED_BY, ownerKeyOf } from "../core/ownership.ts";
import { reconcile } from "../core/reconcile.ts";
import { ServiceOfferEnvelopeSchema } from "../core/service-offer.ts";
import { transitions } from "../core/transitions.ts";
import { validateOffer } from "../core/validate-offer.ts";
import type { KubeClient } from "../kube/client.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { EventRecorder } from "./events.ts";
import { type Informer, isNewer, startInformer, trimmed } from "../kube/informer.ts";
import { startWorkQueue } from "../kube/work-queue.ts";
import { addFinalizer, applyObject, applyOfferStatus, deleteObject, removeFinalizer } from "./writes.ts";

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

const MANAGED_CONDITIONS = [...CONDITION_TYPES, "Ready"];

export function startController(options: ControllerOptions): Controller {
  const { client, config, log, clock, probes, metrics } = options;
  const resyncMs = options.resyncMs ?? 300_000;
  // Which children each offer has, kept as the watches report them.
  const childrenOf = new Map<string, Map<string, KubeObject>>();
  const childKey = (o: KubeObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;

  const queue = startWorkQueue({ clock, concurrency: options.concurrency ?? 4 }, (key) => reconcileKey(key), (key, error, retryInMs) =>
    log.warn("reconcile failed; retrying", { offer: key, error: (error as Error).message, retryInMs: Math.round(retryInMs) })
  );
  const enqueue = (key: string) => {
    queue.add(key);
    metrics.queueDepth(queue.depth);
  };

  // The offers as our own last write left them. A watch event that only brings back what we
  // wrote (or an older copy) is no news: the reconcile that wrote it already decided on it.
  const offersWritten = new Map<string, KubeObject>();
  const offers = startInformer({
    client, resource: SERVICE_OFFER, log,
    onChange(offer, deleted) {
      const key = `${offer.metadata.namespace}/${offer.metadata.name}`;
      const written = offersWritten.get(key);
      if (!deleted && written && !isNewer(offer, written)) {
        // Our write itself: from here on the watch's copy is as new as ours.
        if (offer.metadata.resourceVersion === written.metadata.resourceVersion) offersWritten.delete(key);
        return;
      }
      offersWritten.delete(key);
      enqueue(key);
    },
  });
  const children = new Map<ChildKind, Informer>(CHILD_KINDS.map((kind) => [kind, startInformer({
    client, resource: CHILD_RESOURCES[kind], log, labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
    onChange(child, deleted) {
      const owner = ownerKeyOf(child.metadata);
      if (!owner) return;
      let set = childrenOf.get(owner);
      if (!set) childrenOf.set(owner, set = new Map());
      const key = childKey(child);
      const held = set.get(key);
      if (deleted) set.delete(key);
      else if (held && held.metadata.resourceVersion === child.metadata.resourceVersion) {
        // Our own write coming back is no news; the watch's copy (the informer's, trimmed)
        // replaces our write's answer all the same.
        set.set(key, child);
        return;
      } else if (isNewer(child, held)) set.set(key, child);
      // Events lag behind our writes' answers: an older copy must not replace a newer one.
      else return;
      enqueue(owner);
    },
    // A kind that appears (its CRD installed late) may unblock every offer.
    onSync: () => offers.list().forEach((o) => enqueue(`${o.metadata.namespace}/${o.metadata.name}`)),
  })]));

  const cachesSynced = () => offers.synced && [...children.values()].every((i) => i.synced || i.missing);

  const remember = (object: KubeObject) => {
    children.get(object.kind as ChildKind)?.remember(object);
    const owner = ownerKeyOf(object.metadata);
    if (!owner) return;
    let known = childrenOf.get(owner);
    if (!known) childrenOf.set(owner, known = new Map());
    if (isNewer(object, known.get(childKey(object)))) known.set(childKey(object), trimmed(object));
  };
  const rememberOffer = (key: string, object: KubeObject) => {
    offers.remember(object);
    if (isNewer(object, offersWritten.get(key))) offersWritten.set(key, trimmed(object));
  };
  /** The newest copy of an offer: the watch's, or our last write's answer if that is newer. */
  const latestOffer = (key: string, namespace: string, name: string) => {
    const watched = offers.get(namespace, name);
    const written = offersWritten.get(key);
    return watched && written && isNewer(written, watched) ? written : watched;
  };

  const reconcileKey = async (key: string): Promise<{ requeueAfterMs?: number }> => {
    // Deciding from half-filled caches would re-apply what already exists: wait for all of them.
    if (!cachesSynced()) return { requeueAfterMs: 100 };
    const started = clock.now();
    const [namespace, name] = key.split("/") as [string, string];
    const raw = latestOffer(key, namespace, name);
    if (!raw) {
      probes.forget(key);
      childrenOf.delete(key);
      offersWritten.delete(key);
      return {};
    }
    try {
      const offer = v.parse(ServiceOfferEnvelopeSchema, raw);
      const valid = validateOffer(name, offer.spec, config);
      const upstream = valid.ok && !offer.metadata.deletionTimestamp ? await probes.observe(key, targetOf(valid.offer.spec.upstream)) : undefined;
      const observed: Observed = {
        upstream,
        children: [...(childrenOf.get(key)?.values() ?? [])],
        missingKinds: CHILD_KINDS.filter((kind) => children.get(kind)!.missing),
      };
      const result = reconcile(offer, observed, config, new Date(clock.now()));
      const ref = { namespace, name };

      if (result.finalizer === "add") {
        rememberOffer(key, await addFinalizer(client, ref, raw.metadata, config.finalizer));
        metrics.wrote("ServiceOffer", "finalizer");
      }
      // The gate's children at once (none depends on another); the HTTPRoute after them.
      const write = async (objects: KubeObject[]) => {
        const outcomes = await Promise.allSettled(objects.map((object) => applyObject(client, object)));
        outcomes.forEach((outcome, i) => outcome.status === "fulfilled" && (remember(outcome.value), metrics.wrote(objects[i]!.kind, "apply")));
        const failed = outcomes.find((o) => o.status === "rejected");
        if (failed) throw failed.reason;
      };
      await write(result.apply.filter((c) => c.kind !== "HTTPRoute"));
      await write(result.apply.filter((c) => c.kind === "HTTPRoute"));
      for (const stale of result.delete) {
        await deleteObject(client, stale);
        metrics.wrote(stale.kind, "delete");
      }
      if (result.statusChanged) {
        rememberOffer(key, await applyOfferStatus(client, ref, result.status, MANAGED_CONDITIONS));
        metrics.wrote("ServiceOffer", "status");
        for (const event of transitions(readStatus(offer.status).conditions, result.status.conditions)) options.events(raw, event);
      }
      if (result.finalizer === "remove") {
        await removeFinalizer(client, ref, raw.metadata.finalizers ?? [], config.finalizer);
        metrics.wrote("ServiceOffer", "finalizer");
        options.events(raw, { type: "Normal", reason: "CleanedUp", message: "the route was taken off the gateway and its children removed" });
        probes.forget(key);
      }
      metrics.reconciled("ok", (clock.now() - started) / 1000);
      // Level-triggered: look again at the latest after the core's delay, or at the resync.
      const requeue = result.requeueAfterSeconds === undefined ? resyncMs : Math.min(resyncMs, result.requeueAfterSeconds * 1000);
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

function targetOf(upstream: { service: string; namespace: string; port: number; healthPath: string }): ProbeTarget {
  return { namespace: upstream.namespace, service: upstream.service, port: upstream.port, healthPath: upstream.healthPath };
}
