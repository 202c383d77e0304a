// Routes from the cluster: the verifier watches PaymentRoutes itself (all namespaces, or
// the ones it is given), so it keeps serving when the controller is gone, and keeps its
// last table while the API server is unreachable. It reports each route's admission in
// the route's status subresource, and writes only when that status would change.
import type { KubeClient } from "../adapters/k8s/client.ts";
import { type KubeItem, type ListWatch, startListWatch } from "../adapters/k8s/list-watch.ts";
import { RESOURCES, resourcePath } from "../adapters/k8s/resources.ts";
import type { Logger } from "../adapters/log.ts";
import type { Network } from "../core/networks.ts";
import { type Admission, assembleRoutes, evaluateRoute, type Evaluated, type RouteSet } from "./route-set.ts";

export type ClusterRoutes = { current(): RouteSet | undefined; ready(): boolean; stop(): Promise<void> };

type Entry = { object: KubeItem; evaluated: Evaluated };

export function watchClusterRoutes(
  client: KubeClient,
  namespaces: readonly string[] | undefined,
  networks: readonly Network[],
  log: Logger,
  onChange: (set: RouteSet) => void,
): ClusterRoutes {
  const scopes = namespaces?.length ? namespaces : [undefined];
  const entries = scopes.map(() => new Map<string, Entry>());
  let current: RouteSet | undefined;
  let pending = false;
  const writing = new Set<string>();

  const keyOf = (o: KubeItem) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const put = (map: Map<string, Entry>, object: KubeItem) => map.set(keyOf(object), { object, evaluated: evaluateRoute(object, networks) });

  // Many events arrive together (a relist, a burst of edits): rebuild once per burst.
  const rebuild = () => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      if (!watches.every((w) => w.synced)) return;
      const all = entries.flatMap((m) => [...m.values()]);
      current = assembleRoutes(all.map((e) => e.evaluated));
      onChange(current);
      const byKey = new Map(all.map((e) => [keyOf(e.object), e.object]));
      for (const admission of current.admissions) {
        const object = byKey.get(admission.key);
        if (object) void reportAdmission(object, admission);
      }
    });
  };

  const reportAdmission = async (object: KubeItem, admission: Admission) => {
    const status = { admitted: admission.admitted, lastAdmittedGeneration: admission.generation, reason: admission.reason, message: admission.message };
    const before = (object.status ?? {}) as Record<string, unknown>;
    if (Object.entries(status).every(([k, v]) => before[k] === v)) return;
    const key = keyOf(object);
    if (writing.has(key)) return;
    writing.add(key);
    try {
      const path = resourcePath(RESOURCES.PaymentRoute, object.metadata.namespace, object.metadata.name, "status");
      await client.request("PATCH", path, { body: { status }, contentType: "application/merge-patch+json" });
      if (!admission.admitted) log.warn("PaymentRoute not admitted", { route: key, reason: admission.reason, message: admission.message });
    } catch (error) {
      log.warn("could not report admission; will retry on the next change", { route: key, error: (error as Error).message });
    } finally {
      writing.delete(key);
    }
  };

  const watches: ListWatch[] = scopes.map((namespace, i) =>
    startListWatch({ client, path: resourcePath(RESOURCES.PaymentRoute, namespace), log }, {
      onSync(items) {
        entries[i]!.clear();
        for (const item of items) put(entries[i]!, item);
        rebuild();
      },
      onEvent(type, item) {
        if (type === "DELETED") entries[i]!.delete(keyOf(item));
        else put(entries[i]!, item);
        rebuild();
      },
    })
  );

  return {
    current: () => current,
    ready: () => current !== undefined,
    async stop() {
      await Promise.all(watches.map((w) => w.stop()));
    },
  };
}
