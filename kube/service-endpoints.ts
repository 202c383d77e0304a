// Where a Service's traffic goes, read from the API as a proxy would (Traefik does the
// same): its ready EndpointSlice addresses for the Service port asked, or its ExternalName.
// No cluster DNS or kube-proxy is needed to reach them.
import type { KubeClient } from "./client.ts";
import { isKubeError } from "./errors.ts";
import { RESOURCES, resourcePath } from "./resources.ts";

type ServicePort = { name?: string; port: number; targetPort?: number | string };
type Service = { spec?: { type?: string; externalName?: string; ports?: ServicePort[] } };
type EndpointSlice = { addressType?: string; ports?: { name?: string; port?: number }[]; endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] };

export type ServiceEndpoints =
  /** "address:port" of each ready endpoint (IPv6 in brackets). */
  | { kind: "endpoints"; targets: string[] }
  | { kind: "external"; host: string }
  | { kind: "none"; message: string };

export async function serviceEndpoints(client: KubeClient, namespace: string, service: string, port: number): Promise<ServiceEndpoints> {
  let svc: Service;
  try {
    svc = await client.request<Service>("GET", resourcePath(RESOURCES.Service, namespace, service));
  } catch (error) {
    if (isKubeError(error, "not-found")) return { kind: "none", message: `Service ${namespace}/${service} not found` };
    throw error;
  }
  if (svc.spec?.type === "ExternalName" && svc.spec.externalName) return { kind: "external", host: svc.spec.externalName };
  const servicePort = svc.spec?.ports?.find((p) => p.port === port);
  if (!servicePort) return { kind: "none", message: `Service ${namespace}/${service} has no port ${port}` };
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
  return targets.length > 0 ? { kind: "endpoints", targets } : { kind: "none", message: `Service ${namespace}/${service} has no ready endpoints` };
}
