// The Authorization value a route sends upstream, read from the Secret its offer names
// (in the route's namespace). Cached briefly: a rotated key is picked up within the TTL.
import { Buffer } from "node:buffer";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeClient } from "../adapters/k8s/client.ts";
import { isKubeError } from "../adapters/k8s/errors.ts";
import { RESOURCES, resourcePath } from "../adapters/k8s/resources.ts";
import type { PricedRoute } from "./priced-route.ts";

export type SecretReader = (namespace: string, name: string, key: string) => Promise<string>;

export function clusterSecrets(client: KubeClient): SecretReader {
  return async (namespace, name, key) => {
    try {
      const secret = await client.request<{ data?: Record<string, string> }>("GET", resourcePath(RESOURCES.Secret, namespace, name));
      const value = secret.data?.[key];
      if (value === undefined) throw new Error(`Secret ${namespace}/${name} has no key "${key}"`);
      return Buffer.from(value, "base64").toString("utf8");
    } catch (error) {
      if (isKubeError(error, "not-found")) throw new Error(`Secret ${namespace}/${name} not found`);
      throw error;
    }
  };
}

/** Without Kubernetes: DIR/<secret name>/<key>, the layout of a mounted Secret. */
export function directorySecrets(dir: string): SecretReader {
  return async (_namespace, name, key) => await readFile(join(dir, name, key), "utf8");
}

export function upstreamAuthorization(read: SecretReader, now: () => number, ttlMs = 30_000) {
  const cache = new Map<string, { value: string; expires: number }>();
  return async (route: PricedRoute): Promise<string | undefined | Error> => {
    const auth = route.upstreamAuth;
    if (!auth) return undefined;
    const { name, key } = auth.secretKeyRef;
    const cacheKey = `${route.namespace}/${name}/${key}`;
    const hit = cache.get(cacheKey);
    if (hit && hit.expires > now()) return hit.value;
    try {
      const secret = (await read(route.namespace, name, key)).trim();
      const value = auth.scheme ? `${auth.scheme} ${secret}` : secret;
      cache.set(cacheKey, { value, expires: now() + ttlMs });
      return value;
    } catch (error) {
      // The API server may be away: the last value read keeps the service up. A Secret that is
      // gone (or never was) is a different matter, and is not served from memory.
      if (hit && !/not found|has no key/.test(String(error))) return hit.value;
      return error instanceof Error ? error : new Error(String(error));
    }
  };
}
