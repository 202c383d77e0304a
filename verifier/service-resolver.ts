// In the cluster, the data path reaches a route's upstream Service (http://<service>.<namespace>.svc:<port>)
// through the Service's ready endpoints, read from the API and kept a few seconds, as
// Traefik does: no cluster DNS or kube-proxy needed, and only Services are ever reached.
// Endpoints take turns; an ExternalName Service is not followed. A routes file's upstream URL
// is used as it is.
import type { KubeClient } from "../kube/client.ts";
import { type ServiceEndpoints, serviceEndpoints } from "../kube/service-endpoints.ts";

export type Resolved = { ok: true; url: URL } | { ok: false; message: string };
export type UpstreamResolver = (url: URL) => Promise<Resolved>;

export const asGiven: UpstreamResolver = (url) => Promise.resolve({ ok: true, url });

const SERVICE_HOST = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$/;
const CACHED_MS = 5000;

export function serviceResolver(client: KubeClient, now: () => number = Date.now): UpstreamResolver {
  const cache = new Map<string, { until: number; endpoints: Promise<ServiceEndpoints> }>();
  let turn = 0;
  return async (url) => {
    const host = SERVICE_HOST.exec(url.hostname);
    if (!host) return { ok: true, url };
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const key = `${host[3]}/${host[1]}:${port}`;
    let entry = cache.get(key);
    if (!entry || entry.until < now()) {
      if (cache.size > 10_000) cache.clear();
      entry = { until: now() + CACHED_MS, endpoints: serviceEndpoints(client, host[3]!, host[1]!, port) };
      cache.set(key, entry);
      entry.endpoints.catch(() => cache.delete(key)); // an API error is not remembered
    }
    let found: ServiceEndpoints;
    try {
      found = await entry.endpoints;
    } catch (error) {
      return { ok: false, message: `Service ${key}: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (found.kind === "none") return { ok: false, message: found.message };
    // An ExternalName names any host a tenant likes (a metadata endpoint, the API server): not followed.
    if (found.kind === "external") return { ok: false, message: `Service ${key} is an ExternalName (${found.host}): the data path reaches only a Service's endpoints` };
    const resolved = new URL(url.href);
    resolved.host = found.targets[turn++ % found.targets.length]!;
    return { ok: true, url: resolved };
  };
}
