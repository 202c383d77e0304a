import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { toFieldIssues } from "./field-issues.ts";
import { PaymentRouteSchema } from "./payment-route.ts";

const route = (spec: Record<string, unknown>) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "PaymentRoute",
  metadata: { name: "r", namespace: "n", generation: 3 },
  spec: { pattern: "/services/r/*", price: "0.001", amount: "1000", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base-sepolia", priceModel: "perRequest", ...spec },
});

describe("PaymentRouteSchema", () => {
  it("fills the defaults the CRD has", () => {
    expect(v.parse(PaymentRouteSchema, route({})).spec).toMatchObject({ scheme: "exact", maxTimeoutSeconds: 300, upstreamHealthy: true, description: "" });
  });

  it("names what is wrong with a malformed route", () => {
    const result = v.safeParse(PaymentRouteSchema, route({ amount: "0", pattern: "services", priceModel: "perDay" }));
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(toFieldIssues("", result.issues).map((i) => i.field)).toEqual([".spec.pattern", ".spec.amount", ".spec.priceModel"]);
  });
});
