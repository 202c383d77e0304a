// Routes from the cluster: the verifier watches PaymentRoutes itself (all namespaces, or
// the ones it is given), so it keeps serving when the controller is gone, and keeps its
// last table while the API server is unreachable. It reports each route's admission in
// the route's status subresource, and writes only when that status would change.
//
// Each event changes the table in place (a watch hears of routes one by one: rebuilding per
// event would cost the square of their number), and of each object the informer keeps only
// what the status report needs, not the object: with server-side apply, managedFields alone
// can outweigh everything the verifier uses.
import type { KubeClient } from "../../kube/client.ts";
import { type Informer, startInformer } from "../../kube/informer.ts";
import { resourcePath } from "../../kube/resources.ts";
import type { Logger } from "../../adapters/log.ts";
import { PAYMENT_ROUTE } from "../../core/kinds.ts";
import type { KubeObject } from "../../core/kube.ts";
import type { Network } from "../../core/networks.ts";
import { type Admission, evaluateRoute, type Evaluated, liveRouteSet, type RouteSet } from "./set.ts";

export type ClusterRoutes = { current(): RouteSet | undefined; ready(): boolean; stop(): Promise<void> };

type ReportedStatus = { admitted?: unknown; lastAdmittedGeneration?: unknown; reason?: unknown; message?: unknown };
/** What we keep of a watched route: where to write its status, the status it has now, and our verdict on it. */
type Kept = { metadata: { namespace?: string; name: string; resourceVersion?: string }; status: ReportedStatus; verdict: Evaluated };

/** Status writes in flight at once: a burst of new routes queues behind these instead of opening thousands of requests. */
const MAX_STATUS_WRITES = 8;

export function watchClusterRoutes(
  client: KubeClient,
  namespaces: readonly string[] | undefined,
  networks: readonly Network[],
  log: Logger,
  onChange: (set: RouteSet) => void,
): ClusterRoutes {
  const scopes = namespaces?.length ? [...new Set(namespaces)] : [undefined];
  const routes = liveRouteSet();
  let current: RouteSet | undefined;
  let pending = false;
  /** Routes whose admission may differ from their status, checked once all watches have synced. */
  const unchecked = new Set<string>();
  const waiting = new Set<string>();
  const writing = new Set<string>();

  const keyOf = (o: Kept) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const keep = (object: KubeObject): Kept => {
    const { name, namespace, resourceVersion } = object.metadata;
    const { admitted, lastAdmittedGeneration, reason, message } = (object.status ?? {}) as ReportedStatus;
    return { metadata: { name, namespace, resourceVersion }, status: { admitted, lastAdmittedGeneration, reason, message }, verdict: evaluateRoute(object, networks, "cluster") };
  };
  const seen = (key: string) => {
    const slash = key.indexOf("/");
    return informers.map((i) => i.get(key.slice(0, slash), key.slice(slash + 1))).find((kept) => kept !== undefined);
  };

  // Many events arrive together (a relist, a burst of edits): publish and check once per burst.
  const settle = () => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      if (!informers.every((i) => i.synced)) return;
      current ??= routes;
      onChange(current);
      for (const key of unchecked) waiting.add(key);
      unchecked.clear();
      pump();
    });
  };

  const pump = () => {
    for (const key of waiting) {
      if (writing.size >= MAX_STATUS_WRITES) return;
      if (writing.has(key)) continue; // looked at again when its write ends
      waiting.delete(key);
      const object = seen(key);
      const admission = routes.admission(key);
      if (!object || !admission || !differs(object.status, admission)) continue;
      writing.add(key);
      void reportAdmission(key, object, admission).finally(() => {
        writing.delete(key);
        pump();
      });
    }
  };

  const reportAdmission = async (key: string, object: Kept, admission: Admission) => {
    try {
      const path = resourcePath(PAYMENT_ROUTE, object.metadata.namespace, object.metadata.name, "status");
      await client.request("PATCH", path, { body: { status: statusOf(admission) }, contentType: "application/merge-patch+json" });
      if (!admission.admitted) log.warn("PaymentRoute not admitted", { route: key, reason: admission.reason, message: admission.message });
    } catch (error) {
      unchecked.add(key);
      log.warn("could not report admission; will retry on the next change", { route: key, error: (error as Error).message });
    }
  };

  // One informer per namespace given: each relists and diffs its own scope.
  const informers: Informer<Kept>[] = scopes.map((namespace) =>
    startInformer({
      client, resource: PAYMENT_ROUTE, namespace, log, transform: keep,
      onChange(object, deleted) {
        for (const touched of routes.put(keyOf(object), deleted ? undefined : object.verdict)) unchecked.add(touched);
        settle();
      },
      onSync: settle,
    })
  );

  return {
    current: () => current,
    ready: () => current !== undefined,
    async stop() {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

function statusOf(admission: Admission): ReportedStatus {
  return { admitted: admission.admitted, lastAdmittedGeneration: admission.generation, reason: admission.reason, message: admission.message };
}

function differs(status: ReportedStatus, admission: Admission): boolean {
  const wanted = statusOf(admission);
  return (Object.keys(wanted) as (keyof ReportedStatus)[]).some((k) => status[k] !== wanted[k]);
}
