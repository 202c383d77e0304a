import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import { paymentRequired } from "./answer.ts";
import { isPricingError, priceRoute } from "./priced-route.ts";

const raw = (spec: Record<string, unknown> = {}) => v.parse(PaymentRouteSchema, {
  apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "r", namespace: "n" },
  spec: { pattern: "/r/*", price: "0.001", amount: "1000", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base", priceModel: "perRequest", description: 'say "hi"', ...spec },
});

describe("priceRoute", () => {
  it("builds the v1 and v2 requirements once, from the network's token", () => {
    const route = priceRoute(raw(), DEFAULT_NETWORKS);
    if (isPricingError(route)) throw new Error(route.message);
    expect(route.v2Requirement).toEqual({ scheme: "exact", network: "eip155:8453", amount: "1000", asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", maxTimeoutSeconds: 300, extra: { name: "USD Coin", version: "2" } });
    const v1 = JSON.parse(`${route.v1RequirementHead}"https://x/r"${route.v1RequirementTail}`);
    expect(v1).toMatchObject({ network: "base", maxAmountRequired: "1000", resource: "https://x/r", description: 'say "hi"', mimeType: "application/json" });
  });

  it("answers the same bytes every time for the same request", () => {
    const route = priceRoute(raw(), DEFAULT_NETWORKS);
    if (isPricingError(route)) throw new Error(route.message);
    const again = priceRoute(raw(), DEFAULT_NETWORKS);
    if (isPricingError(again)) throw new Error(again.message);
    expect(paymentRequired(route, "https://x/r", "e")).toEqual(paymentRequired(again, "https://x/r", "e"));
  });

  it("escapes a resource URL into valid JSON", () => {
    const route = priceRoute(raw(), DEFAULT_NETWORKS);
    if (isPricingError(route)) throw new Error(route.message);
    const answer = paymentRequired(route, 'https://x/r?q="\\', "e");
    expect(JSON.parse(answer.body).accepts[0].resource).toBe('https://x/r?q="\\');
  });

  it("refuses a network it does not know", () => {
    expect(priceRoute(raw({ network: "mars" }), DEFAULT_NETWORKS)).toEqual({ field: "spec.network", message: 'unknown network "mars"' });
  });
});
