import { describe, expect, it } from "vitest";
import { childNames, httpRoute, paymentRoute, referenceGrant } from "./children.ts";
import { DEFAULT_CONFIG } from "./config.ts";
import { validateOffer } from "./validate-offer.ts";

const id = { namespace: "shop", name: "demo", uid: "u1" };
function valid(upstreamNamespace: string) {
  const result = validateOffer("demo", {
    upstream: { service: "api", namespace: upstreamNamespace, port: 8080 },
    payment: { network: "base", payTo: "0x1111111111111111111111111111111111111111", price: { perRequest: "1" } },
  }, DEFAULT_CONFIG);
  if (!result.ok) throw new Error("test offer invalid");
  return result.offer;
}

describe("children", () => {
  it("keeps the Go version's names", () => {
    expect(childNames(id)).toEqual({ middleware: "x402-demo", paymentRoute: "demo-payment", httpRoute: "so-demo", referenceGrant: "so-shop-demo" });
  });

  it("routes through the middleware, then strips the prefix, then to the upstream", () => {
    const spec = httpRoute(id, valid("shop"), DEFAULT_CONFIG).spec as { rules: { filters: { type: string }[]; backendRefs: unknown[] }[] };
    expect(spec.rules[0]!.filters.map((f) => f.type)).toEqual(["ExtensionRef", "URLRewrite"]);
    expect(spec.rules[0]!.backendRefs).toEqual([{ name: "api", port: 8080 }]);
  });

  it("names the upstream's namespace only when it differs, and grants that reference there without an ownerReference", () => {
    const spec = httpRoute(id, valid("backend"), DEFAULT_CONFIG).spec as { rules: { backendRefs: unknown[] }[] };
    expect(spec.rules[0]!.backendRefs).toEqual([{ name: "api", namespace: "backend", port: 8080 }]);
    const grant = referenceGrant(id, valid("backend"), DEFAULT_CONFIG)!;
    expect(referenceGrant(id, valid("shop"), DEFAULT_CONFIG)).toBeUndefined();
    expect(grant.metadata.namespace).toBe("backend");
    expect(grant.metadata.ownerReferences).toBeUndefined();
    expect(grant.metadata.annotations).toEqual({ "obol.org/offer": "shop/demo" });
  });

  it("gives the PaymentRoute the registration's description when it fits one, else one made from the offer", () => {
    const withDescription = (description: string) => {
      const result = validateOffer("demo", {
        upstream: { service: "api", namespace: "shop", port: 8080 },
        payment: { network: "base", payTo: "0x1111111111111111111111111111111111111111", price: { perRequest: "1" } },
        registration: { enabled: false, description },
      }, DEFAULT_CONFIG);
      if (!result.ok) throw new Error("test offer invalid");
      return (paymentRoute(id, result.offer, true).spec as { description: string }).description;
    };
    expect(withDescription("Fast answers")).toBe("Fast answers");
    expect(withDescription("x".repeat(5000))).toBe("http service shop/demo on eip155:8453");
  });
});
