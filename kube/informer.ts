// A local cache of one kind of object, kept current by a supervised list-watch. Handlers
// only hear "this object changed"; what that means is the controller's business. Like
// client-go's informers with a transform, it keeps objects without the API server's
// bookkeeping that nobody here reads (see `trimmed`).
import type { KubeObject } from "../core/kube.ts";
import type { Logger } from "../adapters/log.ts";
import type { KubeClient } from "./client.ts";
import { isKubeError } from "./errors.ts";
import { type KubeItem, type ListWatch, startListWatch } from "./list-watch.ts";
import { type Resource, resourcePath } from "./resources.ts";

export type Informer = {
  readonly resource: Resource;
  get(namespace: string, name: string): KubeObject | undefined;
  list(): KubeObject[];
  /** The kind's CRD was not found at the last attempt. */
  readonly missing: boolean;
  readonly synced: boolean;
  /** Records an object we just wrote, so the next reconcile does not read an older copy. */
  remember(object: KubeObject): void;
  stop(): Promise<void>;
};

export type InformerOptions = {
  client: KubeClient;
  resource: Resource;
  log: Logger;
  labelSelector?: string;
  onChange(object: KubeObject, deleted: boolean): void;
  onSync?(): void;
  staleAfterMs?: number;
};

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ""}/${name}`;

/** kubectl's copy of the whole object as last applied client-side. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * The object as cached: without metadata.managedFields (server-side apply's record of who
 * owns each field, often larger than the object itself) and without kubectl's
 * last-applied copy. The controller never reads either: it compares the fields it sets
 * (core/contains.ts), and server-side apply keeps ownership on the server.
 */
export function trimmed(object: KubeObject): KubeObject {
  const { managedFields, ...metadata } = object.metadata as KubeObject["metadata"] & { managedFields?: unknown };
  const annotations = metadata.annotations;
  if (managedFields === undefined && annotations?.[LAST_APPLIED_ANNOTATION] === undefined) return object;
  if (annotations?.[LAST_APPLIED_ANNOTATION] !== undefined) {
    const { [LAST_APPLIED_ANNOTATION]: _, ...rest } = annotations;
    metadata.annotations = rest;
  }
  return { ...object, metadata };
}

export function startInformer(options: InformerOptions): Informer {
  const { resource, log } = options;
  const cache = new Map<string, KubeObject>();
  let missing = false;
  const withKind = (item: KubeItem) => trimmed({ ...item, apiVersion: item.apiVersion ?? (resource.group ? `${resource.group}/${resource.version}` : resource.version), kind: item.kind ?? resource.kind } as KubeObject);

  const watch: ListWatch = startListWatch({
    client: options.client, path: resourcePath(resource), labelSelector: options.labelSelector, log, staleAfterMs: options.staleAfterMs,
    onError(error) {
      const notInstalled = isKubeError(error, "not-found");
      if (notInstalled && !missing) log.error(`the ${resource.kind} CRD (${resource.group}) is not installed; retrying`, { kind: resource.kind });
      missing = notInstalled;
    },
  }, {
    onSync(items) {
      missing = false;
      const seen = new Set<string>();
      for (const item of items.map(withKind)) {
        const key = keyOf(item.metadata.namespace, item.metadata.name);
        seen.add(key);
        const before = cache.get(key);
        cache.set(key, item);
        if (before?.metadata.resourceVersion !== item.metadata.resourceVersion) options.onChange(item, false);
      }
      for (const [key, object] of cache) {
        if (!seen.has(key)) {
          cache.delete(key);
          options.onChange(object, true);
        }
      }
      options.onSync?.();
    },
    onEvent(type, item) {
      const object = withKind(item);
      const key = keyOf(object.metadata.namespace, object.metadata.name);
      if (type === "DELETED") cache.delete(key);
      else cache.set(key, object);
      options.onChange(object, type === "DELETED");
    },
  });

  return {
    resource,
    get: (namespace, name) => cache.get(keyOf(namespace, name)),
    list: () => [...cache.values()],
    get missing() {
      return missing;
    },
    get synced() {
      return watch.synced;
    },
    remember(object) {
      // Only ever forward: the watch may already have brought a newer copy than our write's answer.
      const key = keyOf(object.metadata.namespace, object.metadata.name);
      if (isNewer(object, cache.get(key))) cache.set(key, trimmed(object));
    },
    stop: () => watch.stop(),
  };
}

/**
 * resourceVersions are opaque to clients, but every API server we know issues them from
 * etcd's increasing revision; when both are whole numbers the larger is the newer. When one
 * is not a number, the written object wins (it is at least as new as what we read before).
 */
export function isNewer(candidate: KubeObject, current: KubeObject | undefined): boolean {
  const a = candidate.metadata.resourceVersion;
  const b = current?.metadata.resourceVersion;
  if (!b || !a || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return true;
  return BigInt(a) > BigInt(b);
}
