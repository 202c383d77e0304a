// The Authorization value a route sends upstream, read from the Secret its offer names
// (in the route's namespace). Cached briefly: a rotated key is picked up within the TTL.
// A Secret is input like any other: a value that cannot be a header (a newline, a control
// character) would make the answer unsendable after the payment settled, so it is refused
// when read, and the route answers 503 (no payment taken) until the Secret is fixed.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeClient } from "../kube/client.ts";
import { readSecret } from "../kube/secrets.ts";
import { registerSecret } from "../adapters/log.ts";
import type { PricedRoute } from "./routes/priced-route.ts";

export type SecretReader = (namespace: string, name: string, key: string) => Promise<string>;

/** The Secret or its key is gone (not merely unreachable): its last value is not served from memory. */
export class SecretMissing extends Error {}

/** Visible ASCII and spaces: what any HTTP stack sends as a header value. */
const HEADER_VALUE = /^[\x20-\x7e]+$/;

export function clusterSecrets(client: KubeClient): SecretReader {
  return async (namespace, name, key) => {
    const secret = await readSecret(client, namespace, name);
    if (!secret) throw new SecretMissing(`Secret ${namespace}/${name} not found`);
    const value = secret[key];
    if (value === undefined) throw new SecretMissing(`Secret ${namespace}/${name} has no key "${key}"`);
    return value;
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

/** The header to send upstream (none when the route has no upstream auth), or why it cannot be had. */
export type Credentials = { ok: true; authorization?: string } | { ok: false; problem: string };

const NO_AUTH: Credentials = { ok: true };

export function upstreamAuthorization(read: SecretReader, now: () => number, ttlMs = 30_000) {
  const cache = new Map<string, { value: string; expires: number }>();
  return async (route: PricedRoute): Promise<Credentials> => {
    const auth = route.upstreamAuth;
    if (!auth) return NO_AUTH;
    const { name, key } = auth.secretKeyRef;
    const cacheKey = `${route.namespace}/${name}/${key}`;
    const hit = cache.get(cacheKey);
    if (hit && hit.expires > now()) return { ok: true, authorization: hit.value };
    try {
      const secret = (await read(route.namespace, name, key)).trim();
      registerSecret(secret);
      const value = auth.scheme ? `${auth.scheme} ${secret}` : secret;
      if (secret === "" || !HEADER_VALUE.test(value)) {
        cache.delete(cacheKey);
        return { ok: false, problem: `Secret ${route.namespace}/${name} key "${key}" (with scheme "${auth.scheme ?? ""}") is not a valid header value: control or non-ASCII characters, or empty` };
      }
      cache.set(cacheKey, { value, expires: now() + ttlMs });
      return { ok: true, authorization: value };
    } catch (error) {
      // The API server may be away: the last value read keeps the service up. A Secret that is
      // gone (or never was) is a different matter, and is not served from memory.
      if (hit && !(error instanceof SecretMissing)) return { ok: true, authorization: hit.value };
      return { ok: false, problem: error instanceof Error ? error.message : String(error) };
    }
  };
}
