import { describe, expect, it } from "vitest";
import { apiVersionOf, RESOURCES, resourcePath } from "./resources.ts";

describe("resource paths", () => {
  it("builds core, grouped, cluster-wide and subresource paths", () => {
    expect(resourcePath(RESOURCES.Secret, "shop", "creds")).toBe("/api/v1/namespaces/shop/secrets/creds");
    expect(resourcePath(RESOURCES.PaymentRoute)).toBe("/apis/obol.org/v1alpha1/paymentroutes");
    expect(resourcePath(RESOURCES.ServiceOffer, "shop", "llm", "status")).toBe("/apis/obol.org/v1alpha1/namespaces/shop/serviceoffers/llm/status");
    expect(resourcePath(RESOURCES.CustomResourceDefinition, "ignored", "x")).toBe("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x");
    expect(apiVersionOf(RESOURCES.Secret)).toBe("v1");
    expect(apiVersionOf(RESOURCES.HTTPRoute)).toBe("gateway.networking.k8s.io/v1");
  });
});
