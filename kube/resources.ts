// Where Kubernetes' own kinds live in the API, and how to build any kind's URL paths. The
// product's kinds are in core/kinds.ts, in the same shape.
import { apiVersionOf, type Resource } from "../core/kube.ts";

export { apiVersionOf, type Resource };

const r = (group: string, version: string, plural: string, kind: string, namespaced = true): Resource => ({ group, version, plural, kind, namespaced });

export const RESOURCES = {
  Secret: r("", "v1", "secrets", "Secret"),
  Service: r("", "v1", "services", "Service"),
  EndpointSlice: r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
  Lease: r("coordination.k8s.io", "v1", "leases", "Lease"),
  Event: r("events.k8s.io", "v1", "events", "Event"),
  CustomResourceDefinition: r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false),
} as const;

/** e.g. /apis/obol.org/v1alpha1/namespaces/shop/paymentroutes/x/status; no namespace: all namespaces. */
export function resourcePath(resource: Resource, namespace?: string, name?: string, subresource?: string): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  const scope = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const object = name ? `/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ""}` : "";
  return `${base}${scope}/${resource.plural}${object}`;
}
