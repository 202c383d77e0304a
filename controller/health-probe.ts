// Is an offer's upstream reachable? An HTTP GET of its health path through its Service:
// to a ready EndpointSlice address (default), or to the Service's cluster DNS name. Any
// HTTP answer, even a 500, means reachable; a refused connection or a timeout does not.
import http from "node:http";
import type { KubeClient } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { RESOURCES, resourcePath } from "../kube/resources.ts";
import type { UpstreamObservation, UpstreamTarget } from "../core/observed.ts";

/** What the core asks to probe (reconcile's `probe`). */
export type ProbeTarget = UpstreamTarget;
export type Prober = (target: ProbeTarget) => Promise<UpstreamObservation>;

type ServicePort = { name?: string; port: number; targetPort?: number | string };
type Service = { spec?: { type?: string; externalName?: string; ports?: ServicePort[] } };
type EndpointSlice = { addressType?: string; ports?: { name?: string; port?: number }[]; endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] };

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
    let svc: Service;
    try {
      svc = await client.request<Service>("GET", resourcePath(RESOURCES.Service, namespace, service));
    } catch (error) {
      if (isKubeError(error, "not-found")) return { healthy: false, message: `Service ${namespace}/${service} not found` };
      throw error;
    }
    if (svc.spec?.type === "ExternalName" && svc.spec.externalName) return httpGet(`http://${svc.spec.externalName}:${port}${healthPath}`, timeoutMs);
    const servicePort = svc.spec?.ports?.find((p) => p.port === port);
    if (!servicePort) return { healthy: false, message: `Service ${namespace}/${service} has no port ${port}` };
    const slices = await client.request<{ items: EndpointSlice[] }>("GET", resourcePath(RESOURCES.EndpointSlice, namespace), { query: { labelSelector: `kubernetes.io/service-name=${service}` } });
    const targets: string[] = [];
    for (const slice of slices.items) {
      const slicePort = slice.ports?.find((p) => (p.name ?? "") === (servicePort.name ?? "")) ?? (slice.ports?.length === 1 ? slice.ports[0] : undefined);
      const targetPort = slicePort?.port ?? (typeof servicePort.targetPort === "number" ? servicePort.targetPort : port);
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready === false) continue;
        for (const address of endpoint.addresses) targets.push(slice.addressType === "IPv6" ? `[${address}]:${targetPort}` : `${address}:${targetPort}`);
      }
    }
    if (targets.length === 0) return { healthy: false, message: `Service ${namespace}/${service} has no ready endpoints` };
    // One reachable endpoint is enough for the Service to serve.
    let last: UpstreamObservation | undefined;
    for (const target of targets.slice(0, 3)) {
      last = await httpGet(`http://${target}${healthPath}`, timeoutMs);
      if (last.healthy) return last;
    }
    return last!;
  };
}
