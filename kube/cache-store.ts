// What an informer keeps: one copy per object, by "namespace/name", findable by secondary
// keys (client-go's Indexer), and the rule of "newer" that keeps our own write's answer from
// being rolled back (isNews). Kept apart from the watch so both can be read and tested alone.

/** What the store needs of a kept object: its identity and its version. */
export type Cached = { metadata: { name: string; namespace?: string; resourceVersion?: string } };

export type CacheStore<T extends Cached, I extends string> = {
  keyOf(object: Cached): string;
  /** A copy worth taking: we hold none, or an older one. */
  isNews(object: Cached): boolean;
  put(object: T): T;
  delete(key: string): T | undefined;
  get(namespace: string, name: string): T | undefined;
  keys(): string[];
  values(): T[];
  byIndex(index: I, value: string): T[];
};

export function cacheStore<T extends Cached, I extends string>(indexers?: Record<I, (object: T) => readonly string[]>): CacheStore<T, I> {
  const objects = new Map<string, T>();
  const indexes = new Map<string, Map<string, Map<string, T>>>();
  const keyOf = (object: Cached) => `${object.metadata.namespace ?? ""}/${object.metadata.name}`;

  const reindex = (key: string, before: T | undefined, after: T | undefined) => {
    for (const [name, values] of Object.entries(indexers ?? {}) as [string, (object: T) => readonly string[]][]) {
      let index = indexes.get(name);
      if (!index) indexes.set(name, index = new Map());
      for (const value of before ? values(before) : []) {
        const bucket = index.get(value);
        bucket?.delete(key);
        if (bucket?.size === 0) index.delete(value);
      }
      for (const value of after ? values(after) : []) {
        let bucket = index.get(value);
        if (!bucket) index.set(value, bucket = new Map());
        bucket.set(key, after!);
      }
    }
  };

  return {
    keyOf,
    isNews(object) {
      const held = objects.get(keyOf(object));
      return held === undefined || (held.metadata.resourceVersion !== object.metadata.resourceVersion && isNewer(object, held));
    },
    put(object) {
      const key = keyOf(object);
      reindex(key, objects.get(key), object);
      objects.set(key, object);
      return object;
    },
    delete(key) {
      const held = objects.get(key);
      if (held === undefined) return undefined;
      reindex(key, held, undefined);
      objects.delete(key);
      return held;
    },
    get: (namespace, name) => objects.get(`${namespace}/${name}`),
    keys: () => [...objects.keys()],
    values: () => [...objects.values()],
    byIndex: (index, value) => [...(indexes.get(index)?.get(value)?.values() ?? [])],
  };
}

/**
 * resourceVersions are opaque to clients, but every API server we know issues them from
 * etcd's increasing revision; when both are whole numbers the larger is the newer. When one
 * is not a number, the written object wins (it is at least as new as what we read before).
 */
export function isNewer(candidate: Cached, current: Cached | undefined): boolean {
  const a = candidate.metadata.resourceVersion;
  const b = current?.metadata.resourceVersion;
  if (!b || !a || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return true;
  return BigInt(a) > BigInt(b);
}
