import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { ServiceOfferEnvelopeSchema, ServiceOfferSpecSchema } from "./service-offer.ts";

// An offer as the Go operator's users wrote them, fields and all.
const existing = {
  type: "inference",
  model: { name: "qwen3:0.6b", runtime: "ollama" },
  upstream: { service: "ollama", namespace: "llm", port: 11434, healthPath: "/api/tags" },
  payment: { scheme: "exact", network: "base-sepolia", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", maxTimeoutSeconds: 120, price: { perMTok: "0.5" } },
  path: "/services/qwen",
  registration: {
    enabled: true, name: "Qwen", description: "small model", image: "https://x/y.png",
    services: [{ name: "web", endpoint: "https://x" }], supportedTrust: ["reputation"], skills: ["chat"], domains: ["x"],
    metadata: { nested: { deep: [1, 2] } }, somethingNew: true,
  },
};

describe("ServiceOfferSpecSchema", () => {
  it("accepts an existing offer unchanged, registration included", () => {
    const parsed = v.parse(ServiceOfferSpecSchema, existing);
    expect(parsed).toEqual(existing);
  });

  it("applies the CRD's defaults", () => {
    const parsed = v.parse(ServiceOfferSpecSchema, {
      upstream: { service: "a", namespace: "b" },
      payment: { network: "base", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", price: { perRequest: "1" } },
    });
    expect(parsed).toMatchObject({ type: "http", upstream: { port: 11434, healthPath: "/health" }, payment: { scheme: "exact", maxTimeoutSeconds: 300 } });
  });

  it("refuses an upstreamAuth without a key", () => {
    const result = v.safeParse(ServiceOfferSpecSchema, { ...existing, upstreamAuth: { secretKeyRef: { name: "litellm-secrets" } } });
    expect(result.success).toBe(false);
  });
});

describe("ServiceOfferEnvelopeSchema", () => {
  it("needs only the identity of the offer, so an invalid spec can still get a status", () => {
    const parsed = v.parse(ServiceOfferEnvelopeSchema, { apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name: "x" }, spec: 42 });
    expect(parsed.spec).toBe(42);
  });

  it("refuses other kinds", () => {
    expect(v.safeParse(ServiceOfferEnvelopeSchema, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }).success).toBe(false);
  });
});
