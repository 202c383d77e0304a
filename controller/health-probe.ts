// Is an offer's upstream reachable? An HTTP GET of its health path through its Service:
// to a ready EndpointSlice address (default), or to the Service's cluster DNS name. Any
// HTTP answer, even a 500, means reachable; a refused connection or a timeout does not.
import http from "node:http";
import type { KubeClient } from "../kube/client.ts";
import { serviceEndpoints } from "../kube/service-endpoints.ts";
import type { UpstreamObservation, UpstreamTarget } from "../core/observed.ts";

/** What the core asks to probe (reconcile's `probe`). */
export type ProbeTarget = UpstreamTarget;
export type Prober = (target: ProbeTarget) => Promise<UpstreamObservation>;


export function httpGet(url: string, timeoutMs: number): Promise<UpstreamObservation> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: timeoutMs, agent: false, headers: { "user-agent": "x402-operator-health-probe" } }, (response) => {
      response.resume();
      resolve({ healthy: true, message: `GET ${url} answered ${response.statusCode}` });
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", (error: NodeJS.ErrnoException) => resolve({ healthy: false, message: `GET ${url}: ${error.code ?? error.message}` }));
  });
}

export function dnsProber(timeoutMs: number, clusterDomain = "cluster.local"): Prober {
  return ({ namespace, service, port, healthPath }) => httpGet(`http://${service}.${namespace}.svc.${clusterDomain}:${port}${healthPath}`, timeoutMs);
}

export function endpointsProber(client: KubeClient, timeoutMs: number): Prober {
  return async ({ namespace, service, port, healthPath }) => {
    const found = await serviceEndpoints(client, namespace, service, port);
    if (found.kind === "none") return { healthy: false, message: found.message };
    if (found.kind === "external") return httpGet(`http://${found.host}:${port}${healthPath}`, timeoutMs);
    // One reachable endpoint is enough for the Service to serve.
    let last: UpstreamObservation | undefined;
    for (const target of found.targets.slice(0, 3)) {
      last = await httpGet(`http://${target}${healthPath}`, timeoutMs);
      if (last.healthy) return last;
    }
    return last!;
  };
}
