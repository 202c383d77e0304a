import { readFileSync } from "node:fs";
import * as v from "valibot";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import { priceRoute, type PricedRoute } from "./routes/priced-route.ts";
import { verifierMetrics } from "./metrics.ts";

function route(): PricedRoute {
  const raw = v.parse(PaymentRouteSchema, {
    apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute",
    metadata: { name: "llm-payment", namespace: "shop", annotations: { "obol.org/offer": "shop/llm" } },
    spec: { pattern: "/services/llm/*", price: "0.001", amount: "1000", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base-sepolia", priceModel: "perRequest" },
  });
  const pricing = priceRoute(raw, DEFAULT_NETWORKS);
  if (!pricing.ok) throw new Error(pricing.issue.message);
  return pricing.route;
}

describe("verifier metrics", () => {
  it("counts answers per route and status; a rebuilt route with the same labels adds to the same series", () => {
    const metrics = verifierMetrics();
    metrics.answered(route(), 402, 0.0002);
    metrics.answered(route(), 402, 0.003);
    const same = route();
    metrics.answered(same, 200, 0.0002);
    metrics.answered(undefined, 200, 0.0001);
    const text = metrics.registry.render();
    const labels = 'route="/services/llm/*",namespace="shop",offer="llm"';
    expect(text).toContain(`x402_verifier_requests_total{${labels},status="402"} 2\n`);
    expect(text).toContain(`x402_verifier_requests_total{${labels},status="200"} 1\n`);
    expect(text).toContain(`x402_verifier_requests_total{route="",namespace="",offer="",status="200"} 1\n`);
    expect(text).toContain(`x402_verifier_payment_required_total{${labels}} 2\n`);
    expect(text).toContain(`x402_verifier_request_duration_seconds_bucket{${labels},le="0.0005"} 2\n`);
    expect(text).toContain(`x402_verifier_request_duration_seconds_count{${labels}} 3\n`);
  });

  it("counts refusals under a fixed set of reasons: 5,000 distinct facilitator strings make one series", () => {
    const metrics = verifierMetrics();
    for (let i = 0; i < 5000; i++) metrics.refused(route(), `facilitator says no #${i}\n"quoted"`);
    metrics.refused(route(), "invalid_exact_evm_payload_signature");
    const series = metrics.registry.render().split("\n").filter((line) => line.startsWith("x402_verifier_payments_refused_total{"));
    expect(series).toEqual([
      'x402_verifier_payments_refused_total{route="/services/llm/*",namespace="shop",offer="llm",reason="other"} 5000',
      'x402_verifier_payments_refused_total{route="/services/llm/*",namespace="shop",offer="llm",reason="invalid_exact_evm_payload_signature"} 1',
    ]);
  });

  it("counts revenue per offer, chain and asset under obol-stack's labels, once per settled payment, exact in atomic units", () => {
    const metrics = verifierMetrics();
    metrics.answered(undefined, 200, 0.0001); // no route: no revenue series appears
    for (let i = 0; i < 3; i++) metrics.settled(route(), route().accepts[0]!);
    const text = metrics.registry.render();
    const labels = 'offer_namespace="shop",offer_name="llm",chain="base-sepolia",asset_symbol="USDC",asset="0x036CbD53842c5426634e7929541eC2318f3dCF7e"';
    expect(text).toContain(`x402_verifier_revenue_atomic_total{${labels}} 3000\n`);
    expect(text).toContain(`x402_verifier_revenue_total{${labels}} 0.003\n`);
    expect(text.split("\n").filter((line) => line.startsWith("x402_verifier_revenue"))).toHaveLength(2);
  });

  it("ships recording rules that read only series the verifier exports", () => {
    const rules = parse(readFileSync(new URL("../manifests/monitoring/x402-revenue.rules.yaml", import.meta.url), "utf8")) as { groups: { rules: { record: string; expr: string }[] }[] };
    const metrics = verifierMetrics();
    metrics.settled(route(), route().accepts[0]!);
    const exported = new Set(metrics.registry.render().split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]));
    const records = rules.groups.flatMap((g) => g.rules);
    expect(records.map((r) => r.record)).toContain("x402:revenue:7d_by_offer");
    for (const rule of records) {
      for (const metric of rule.expr.match(/x402_[a-z_]+/g) ?? []) expect([rule.record, exported.has(metric)]).toEqual([rule.record, true]);
    }
  });
});
