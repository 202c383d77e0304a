import { describe, expect, it } from "vitest";
import { apiVersionOf, RESOURCES, resourcePath } from "./resources.ts";

describe("resource paths", () => {
  it("builds core, grouped, cluster-wide and subresource paths", () => {
    expect(resourcePath(RESOURCES.Secret, "shop", "creds")).toBe("/api/v1/namespaces/shop/secrets/creds");
    expect(resourcePath(RESOURCES.Lease)).toBe("/apis/coordination.k8s.io/v1/leases");
    expect(resourcePath(RESOURCES.Event, "shop", "llm-1", "status")).toBe("/apis/events.k8s.io/v1/namespaces/shop/events/llm-1/status");
    expect(resourcePath(RESOURCES.CustomResourceDefinition, "ignored", "x")).toBe("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x");
    expect(apiVersionOf(RESOURCES.Secret)).toBe("v1");
    expect(apiVersionOf(RESOURCES.EndpointSlice)).toBe("discovery.k8s.io/v1");
  });
});
