// A local cache of one kind of object, kept current by a supervised list-watch. Handlers
// only hear "this object changed"; what that means is the caller's business. Like
// client-go's informers, it can keep less than the object (`transform`; by default without
// the API server's bookkeeping that nobody here reads, see `trimmed`) and find objects by
// a secondary key (`index`), and it alone turns a relist into the changes since the last.
import type { KubeObject } from "../core/kube.ts";
import type { Logger } from "../adapters/log.ts";
import type { KubeClient } from "./client.ts";
import { isKubeError } from "./errors.ts";
import { type KubeItem, type ListWatch, startListWatch } from "./list-watch.ts";
import { apiVersionOf, type Resource, resourcePath } from "./resources.ts";
import { type Cached, cacheStore, isNewer } from "./cache-store.ts";

export { type Cached, isNewer } from "./cache-store.ts";

export type Informer<T extends Cached = KubeObject, I extends string = string> = {
  readonly resource: Resource;
  get(namespace: string, name: string): T | undefined;
  list(): T[];
  /** The objects whose index `index` gives `value`, e.g. the children of one owner. */
  byIndex(index: I, value: string): T[];
  /** The kind's CRD was not found at the last attempt. */
  readonly missing: boolean;
  readonly synced: boolean;
  /** Records an object we just wrote, so the next reconcile does not read an older copy. */
  remember(object: KubeObject): void;
  stop(): Promise<void>;
};

export type InformerOptions<T extends Cached, I extends string> = {
  client: KubeClient;
  resource: Resource;
  log: Logger;
  /** Watch one namespace only; all of them when absent. */
  namespace?: string;
  labelSelector?: string;
  /** What is kept of each object (and handed to onChange); `trimmed` when absent. Must keep metadata's name, namespace and resourceVersion. */
  transform?: (object: KubeObject) => T;
  /** Secondary indexes by name: the keys each kept object is found under. */
  index?: Record<I, (object: T) => readonly string[]>;
  /** A newer copy of an object was cached, or it was deleted. Our own writes coming back (see `remember`) are no news. */
  onChange(object: T, deleted: boolean): void;
  onSync?(): void;
  staleAfterMs?: number;
};

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

export function startInformer<T extends Cached = KubeObject, I extends string = string>(options: InformerOptions<T, I>): Informer<T, I> {
  const { resource, log } = options;
  // Without a transform, T is KubeObject: the default keeps the object, trimmed.
  const transform = options.transform ?? (trimmed as unknown as (object: KubeObject) => T);
  const cache = cacheStore<T, I>(options.index);
  let missing = false;
  /** Keys whose held copy is our own write's answer: a watch still catching up must not roll it back. */
  const written = new Set<string>();
  /** Takes the server's copy, and tells of it when it is another version than the one held. */
  const take = (item: KubeItem) => {
    const key = cache.keyOf(item);
    const held = cache.get(item.metadata.namespace ?? "", item.metadata.name);
    written.delete(key);
    const kept = cache.put(transform(withKind(item)));
    const version = item.metadata.resourceVersion;
    if (held === undefined || version === undefined || held.metadata.resourceVersion !== version) options.onChange(kept, false);
  };
  const withKind = (item: KubeItem) => ({ ...item, apiVersion: item.apiVersion ?? apiVersionOf(resource), kind: item.kind ?? resource.kind } as KubeObject);

  const watch: ListWatch = startListWatch({
    client: options.client, path: resourcePath(resource, options.namespace), labelSelector: options.labelSelector, log, staleAfterMs: options.staleAfterMs,
    onError(error) {
      const notInstalled = isKubeError(error, "not-found");
      if (notInstalled && !missing) log.error(`the ${resource.kind} CRD (${resource.group}) is not installed; retrying`, { kind: resource.kind });
      missing = notInstalled;
    },
  }, {
    onSync(items) {
      missing = false;
      // The relist is the truth, whatever its versions say (after an etcd restore they go
      // backwards): another version than the one held changed, what is not listed was deleted.
      const listed = new Set<string>();
      for (const item of items) {
        listed.add(cache.keyOf(item));
        take(item);
      }
      for (const gone of cache.keys().filter((key) => !listed.has(key))) {
        written.delete(gone);
        options.onChange(cache.delete(gone)!, true);
      }
      options.onSync?.();
    },
    onEvent(type, item) {
      const key = cache.keyOf(item);
      if (type === "DELETED") {
        written.delete(key);
        return options.onChange(cache.delete(key) ?? transform(withKind(item)), true);
      }
      // Events arrive in order: one older than our own write's answer is the watch catching up to it.
      if (written.has(key) && !isNewer(item, cache.get(item.metadata.namespace ?? "", item.metadata.name))) return;
      take(item);
    },
  });

  return {
    resource,
    get: (namespace, name) => cache.get(namespace, name),
    list: () => cache.values(),
    byIndex: (index, value) => cache.byIndex(index, value),
    get missing() {
      return missing;
    },
    get synced() {
      return watch.synced;
    },
    remember(object) {
      // Only ever forward: the watch may already have brought a newer copy than our write's answer.
      if (!cache.isNews(object)) return;
      cache.put(transform(object));
      written.add(cache.keyOf(object));
    },
    stop: () => watch.stop(),
  };
}
