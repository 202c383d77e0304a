// Where each kind we touch lives in the API, and how to build its URL paths.

export type Resource = { group: string; version: string; plural: string; kind: string; namespaced: boolean };

const r = (group: string, version: string, plural: string, kind: string, namespaced = true): Resource => ({ group, version, plural, kind, namespaced });

export const RESOURCES = {
  ServiceOffer: r("obol.org", "v1alpha1", "serviceoffers", "ServiceOffer"),
  PaymentRoute: r("obol.org", "v1alpha1", "paymentroutes", "PaymentRoute"),
  Middleware: r("traefik.io", "v1alpha1", "middlewares", "Middleware"),
  HTTPRoute: r("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute"),
  ReferenceGrant: r("gateway.networking.k8s.io", "v1beta1", "referencegrants", "ReferenceGrant"),
  Secret: r("", "v1", "secrets", "Secret"),
  Service: r("", "v1", "services", "Service"),
  EndpointSlice: r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
  Lease: r("coordination.k8s.io", "v1", "leases", "Lease"),
  Event: r("events.k8s.io", "v1", "events", "Event"),
  CustomResourceDefinition: r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false),
} as const;

export type ResourceKind = keyof typeof RESOURCES;

export function apiVersionOf(resource: Resource): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

/** e.g. /apis/obol.org/v1alpha1/namespaces/shop/paymentroutes/x/status; no namespace: all namespaces. */
export function resourcePath(resource: Resource, namespace?: string, name?: string, subresource?: string): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  const scope = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const object = name ? `/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ""}` : "";
  return `${base}${scope}/${resource.plural}${object}`;
}

export function resourceForKind(kind: string): Resource | undefined {
  return (RESOURCES as Record<string, Resource>)[kind];
}
