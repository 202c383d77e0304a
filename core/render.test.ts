import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "./config.ts";
import { renderOffers } from "./render.ts";

const offer = (name: string, namespace: string | undefined, price = "0.001") => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: {
    upstream: { service: "api", namespace: namespace ?? "default", port: 8080 },
    payment: { network: "base", payTo: "0x1111111111111111111111111111111111111111", price: { perRequest: price } },
  },
});
const now = new Date("2026-01-01T00:00:00Z");

describe("renderOffers", () => {
  it("renders every offer's children, sorted by namespace and name, route last", () => {
    const result = renderOffers([offer("b", "x"), { kind: "ConfigMap" }, offer("a", "x")], DEFAULT_CONFIG, "default", now);
    expect(result.errors).toEqual([]);
    expect(result.rendered.map((r) => r.offer)).toEqual(["x/a", "x/b"]);
    expect(result.rendered[0]?.children.map((c) => `${c.kind}/${c.metadata.name}`)).toEqual([
      "PaymentRoute/a-payment",
      "Middleware/x402-a",
      "HTTPRoute/so-a",
    ]);
  });

  it("places offers without a namespace in the default one, without ownerReferences (no uid yet)", () => {
    const [first] = renderOffers([offer("solo", undefined)], DEFAULT_CONFIG, "shop", now).rendered;
    expect(first?.offer).toBe("shop/solo");
    expect(first?.children[0]?.metadata.namespace).toBe("shop");
    expect(first?.children[0]?.metadata.ownerReferences).toBeUndefined();
  });

  it("names the offer and the field of every invalid offer", () => {
    const result = renderOffers([offer("ok", "x"), offer("bad", "x", "0.0000001"), { kind: "ServiceOffer", metadata: {} }], DEFAULT_CONFIG, "default", now);
    expect(result.rendered.map((r) => r.offer)).toEqual(["x/ok"]);
    expect(result.errors).toEqual([
      expect.stringMatching(/^ServiceOffer x\/bad: spec\.payment\.price\.perRequest: has more than 6 decimals/),
      expect.stringMatching(/^document 3 \(ServiceOffer\): /),
    ]);
  });
});
