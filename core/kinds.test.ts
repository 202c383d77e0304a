import { describe, expect, it } from "vitest";
import { apiVersionOf, CHILD_KINDS, childResource, HTTP_ROUTE, SERVICE_OFFER } from "./kinds.ts";

describe("kinds", () => {
  it("names each child kind once, with the API group and version its objects are written in", () => {
    expect(CHILD_KINDS).toEqual(["PaymentRoute", "Middleware", "HTTPRoute", "ReferenceGrant"]);
    expect(CHILD_KINDS.map((k) => apiVersionOf(childResource(k)!))).toEqual(["obol.org/v1alpha1", "traefik.io/v1alpha1", "gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]);
    expect(apiVersionOf(SERVICE_OFFER)).toBe("obol.org/v1alpha1");
    expect(HTTP_ROUTE.plural).toBe("httproutes");
  });

  it("knows no other kind as a child, whatever an object claims", () => {
    for (const kind of ["ServiceOffer", "Secret", "toString", "__proto__", "constructor", ""]) expect(childResource(kind)).toBeUndefined();
  });
});
