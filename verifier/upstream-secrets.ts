// The Authorization value a route sends upstream, read from the Secret its offer names
// (in the route's namespace). Cached briefly: a rotated key is picked up within the TTL.
// A Secret is input like any other: a value that cannot be a header (a newline, a control
// character) would make the answer unsendable after the payment settled, so it is refused
// when read, and the route answers 503 (no payment taken) until the Secret is fixed.
import { Buffer } from "node:buffer";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeClient } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { RESOURCES, resourcePath } from "../kube/resources.ts";
import { registerSecret } from "../adapters/log.ts";
import type { PricedRoute } from "./routes/priced-route.ts";

export type SecretReader = (namespace: string, name: string, key: string) => Promise<string>;

/** The Secret or its key is gone (not merely unreachable): its last value is not served from memory. */
export class SecretMissing extends Error {}

/** Visible ASCII and spaces: what any HTTP stack sends as a header value. */
const HEADER_VALUE = /^[\x20-\x7e]+$/;

export function clusterSecrets(client: KubeClient): SecretReader {
  return async (namespace, name, key) => {
    let secret: { data?: Record<string, string> };
    try {
      secret = await client.request<{ data?: Record<string, string> }>("GET", resourcePath(RESOURCES.Secret, namespace, name));
    } catch (error) {
      if (isKubeError(error, "not-found")) throw new SecretMissing(`Secret ${namespace}/${name} not found`);
      throw error;
    }
    const value = secret.data?.[key];
    if (value === undefined) throw new SecretMissing(`Secret ${namespace}/${name} has no key "${key}"`);
    return Buffer.from(value, "base64").toString("utf8");
  };
}

/** Without Kubernetes: DIR/<secret name>/<key>, the layout of a mounted Secret. */
export function directorySecrets(dir: string): SecretReader {
  return async (namespace, name, key) => {
    try {
      return await readFile(join(dir, name, key), "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") throw new SecretMissing(`Secret ${namespace}/${name} key "${key}" not found in ${dir}`);
      throw error;
    }
  };
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
      registerSecret(secret);
      const value = auth.scheme ? `${auth.scheme} ${secret}` : secret;
      if (secret === "" || !HEADER_VALUE.test(value)) {
        cache.delete(cacheKey);
        return new Error(`Secret ${route.namespace}/${name} key "${key}" (with scheme "${auth.scheme ?? ""}") is not a valid header value: control or non-ASCII characters, or empty`);
      }
      cache.set(cacheKey, { value, expires: now() + ttlMs });
      return value;
    } catch (error) {
      // The API server may be away: the last value read keeps the service up. A Secret that is
      // gone (or never was) is a different matter, and is not served from memory.
      if (hit && !(error instanceof SecretMissing)) return hit.value;
      return error instanceof Error ? error : new Error(String(error));
    }
  };
}
