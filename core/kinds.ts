// The kinds the operator owns and where each lives in the API: the one list the controller's
// informers and writes, the verifier's watch and the children's apiVersions come from.
import { apiVersionOf, type Resource } from "./kube.ts";

export { apiVersionOf };

const kind = (group: string, version: string, plural: string, name: string): Resource => ({ group, version, plural, kind: name, namespaced: true });

export const SERVICE_OFFER = kind("obol.org", "v1alpha1", "serviceoffers", "ServiceOffer");
export const PAYMENT_ROUTE = kind("obol.org", "v1alpha1", "paymentroutes", "PaymentRoute");
export const MIDDLEWARE = kind("traefik.io", "v1alpha1", "middlewares", "Middleware");
export const HTTP_ROUTE = kind("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute");
export const REFERENCE_GRANT = kind("gateway.networking.k8s.io", "v1beta1", "referencegrants", "ReferenceGrant");

/** What an offer becomes. */
export const CHILD_RESOURCES = { PaymentRoute: PAYMENT_ROUTE, Middleware: MIDDLEWARE, HTTPRoute: HTTP_ROUTE, ReferenceGrant: REFERENCE_GRANT } as const;
export type ChildKind = keyof typeof CHILD_RESOURCES;
export const CHILD_KINDS = Object.keys(CHILD_RESOURCES) as readonly ChildKind[];

export function childResource(kind: string): Resource | undefined {
  return Object.hasOwn(CHILD_RESOURCES, kind) ? CHILD_RESOURCES[kind as ChildKind] : undefined;
}
