import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../../core/networks.ts";
import { PaymentRouteSchema } from "../../core/payment-route.ts";
import { paymentRequired } from "../answer.ts";
import { priceRoute, v1RequirementJson } from "./priced-route.ts";
import { evaluateRoute } from "./set.ts";

const raw = (spec: Record<string, unknown> = {}) => v.parse(PaymentRouteSchema, {
  apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "r", namespace: "n" },
  spec: { pattern: "/r/*", price: "0.001", amount: "1000", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base", priceModel: "perRequest", description: 'say "hi"', ...spec },
});

describe("priceRoute", () => {
  it("builds the v1 and v2 requirements once, from the network's token", () => {
    const routePriced = priceRoute(raw(), DEFAULT_NETWORKS);
    if (!routePriced.ok) throw new Error(routePriced.issue.message);
    const route = routePriced.route;
    expect(route.accepts[0]!.v2Requirement).toEqual({ scheme: "exact", network: "eip155:8453", amount: "1000", asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", maxTimeoutSeconds: 300, extra: { name: "USD Coin", version: "2" } });
    const v1 = JSON.parse(v1RequirementJson(route.accepts[0]!, "https://x/r")!);
    expect(v1).toMatchObject({ network: "base", maxAmountRequired: "1000", resource: "https://x/r", description: 'say "hi"', mimeType: "application/json" });
  });

  it("answers the same bytes every time for the same request", () => {
    const routePriced = priceRoute(raw(), DEFAULT_NETWORKS);
    if (!routePriced.ok) throw new Error(routePriced.issue.message);
    const route = routePriced.route;
    const againPriced = priceRoute(raw(), DEFAULT_NETWORKS);
    if (!againPriced.ok) throw new Error(againPriced.issue.message);
    const again = againPriced.route;
    expect(paymentRequired(route, "https://x/r", "e")).toEqual(paymentRequired(again, "https://x/r", "e"));
  });

  it("escapes a resource URL into valid JSON", () => {
    const routePriced = priceRoute(raw(), DEFAULT_NETWORKS);
    if (!routePriced.ok) throw new Error(routePriced.issue.message);
    const route = routePriced.route;
    const answer = paymentRequired(route, 'https://x/r?q="\\', "e");
    expect(JSON.parse(answer.body).accepts[0].resource).toBe('https://x/r?q="\\');
  });

  it("refuses a network it does not know", () => {
    expect(priceRoute(raw({ network: "mars" }), DEFAULT_NETWORKS)).toEqual({ ok: false, issue: { field: "spec.network", message: 'unknown network "mars"' } });
  });

  it("charges the price, in both requirements, when the amount is left out", () => {
    const routePriced = priceRoute(raw({ price: "0.002", amount: undefined }), DEFAULT_NETWORKS);
    if (!routePriced.ok) throw new Error(routePriced.issue.message);
    const route = routePriced.route;
    expect(route.accepts[0]!.amount).toBe(2000n);
    expect(route.accepts[0]!.v2Requirement.amount).toBe("2000");
    expect(JSON.parse(v1RequirementJson(route.accepts[0]!, "x")!).maxAmountRequired).toBe("2000");
  });

  it("keeps the requirement bytes, key order included, for a route whose amount agrees", () => {
    const routePriced = priceRoute(raw(), DEFAULT_NETWORKS);
    if (!routePriced.ok) throw new Error(routePriced.issue.message);
    const route = routePriced.route;
    expect(v1RequirementJson(route.accepts[0]!, "https://x/r")!).toBe(
      '{"scheme":"exact","network":"base","maxAmountRequired":"1000","resource":"https://x/r","description":"say \\"hi\\"","mimeType":"application/json",' +
        '"payTo":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","maxTimeoutSeconds":300,"asset":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","extra":{"name":"USD Coin","version":"2"}}',
    );
    expect(route.accepts[0]!.v2RequirementJson).toBe(
      '{"scheme":"exact","network":"eip155:8453","amount":"1000","asset":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",' +
        '"payTo":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","maxTimeoutSeconds":300,"extra":{"name":"USD Coin","version":"2"}}',
    );
  });

  it("refuses an amount that disagrees with the price, either way", () => {
    for (const amount of ["1000", "3000"]) {
      expect(priceRoute(raw({ price: "0.002", amount }), DEFAULT_NETWORKS)).toMatchObject({ ok: false, issue: { field: "spec.amount", message: expect.stringContaining('spec.price "0.002", which means 2000 atomic units') } });
    }
  });

  it("refuses a price of zero, too fine, or beyond a uint256", () => {
    for (const price of ["0", "0.0000001", `1${"0".repeat(80)}`]) {
      expect(priceRoute(raw({ price, amount: undefined }), DEFAULT_NETWORKS)).toMatchObject({ ok: false, issue: { field: "spec.price" } });
    }
  });

  it("refuses a payee of the zero address or the network's token contract", () => {
    expect(priceRoute(raw({ payTo: "0x0000000000000000000000000000000000000000" }), DEFAULT_NETWORKS)).toMatchObject({ ok: false, issue: { field: "spec.payTo", message: expect.stringContaining("zero address") } });
    expect(priceRoute(raw({ payTo: "0x833589FCD6EDB6E08F4C7C32D4F71B54BDA02913" }), DEFAULT_NETWORKS)).toMatchObject({ ok: false, issue: { field: "spec.payTo", message: expect.stringContaining("token contract") } });
    expect(priceRoute(raw({ network: "base-sepolia", payTo: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913" }), DEFAULT_NETWORKS).ok).toBe(true);
  });
});

describe("admission of a route by its price and payee", () => {
  const object = (spec: Record<string, unknown>) => ({
    apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "r", namespace: "n", generation: 2 },
    spec: { pattern: "/r/*", price: "0.002", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base-sepolia", ...spec },
  });
  const refusal = (field: string) => ({ admission: { key: "n/r", generation: 2, admitted: false, reason: "InvalidSpec", message: expect.stringMatching(new RegExp(`^${field.replace(".", "\\.")}: `)) } });

  it("admits a hand-written route of pattern, price, payTo and network, charging price * 10^6", () => {
    const verdict = evaluateRoute(object({}), DEFAULT_NETWORKS);
    if (!("candidate" in verdict)) throw new Error(verdict.admission.message);
    expect(verdict.candidate.route.accepts[0]!.amount).toBe(2000n);
    expect(verdict.candidate.route.accepts[0]!.v2Requirement.amount).toBe("2000");
  });

  it("admits a route whose amount agrees with its price", () => {
    expect("candidate" in evaluateRoute(object({ amount: "2000", priceModel: "perRequest" }), DEFAULT_NETWORKS)).toBe(true);
  });

  it("refuses, naming the field, what would charge something else than the price or pay nobody", () => {
    expect(evaluateRoute(object({ amount: "1000" }), DEFAULT_NETWORKS)).toEqual(refusal("spec.amount"));
    expect(evaluateRoute(object({ amount: "1000" }), DEFAULT_NETWORKS)).toMatchObject({ admission: { message: expect.stringContaining('disagrees with spec.price "0.002", which means 2000 atomic units') } });
    expect(evaluateRoute(object({ price: "0", amount: "1000" }), DEFAULT_NETWORKS)).toEqual(refusal("spec.price"));
    expect(evaluateRoute(object({ price: "0.0000001" }), DEFAULT_NETWORKS)).toEqual(refusal("spec.price"));
    expect(evaluateRoute(object({ price: "-1" }), DEFAULT_NETWORKS)).toEqual(refusal("spec.price"));
    expect(evaluateRoute(object({ price: `${2n ** 256n}` }), DEFAULT_NETWORKS)).toEqual(refusal("spec.price"));
    expect(evaluateRoute(object({ payTo: "0x0000000000000000000000000000000000000000" }), DEFAULT_NETWORKS)).toEqual(refusal("spec.payTo"));
    expect(evaluateRoute(object({ payTo: "0x036cbd53842C5426634E7929541EC2318F3DCF7E" }), DEFAULT_NETWORKS)).toEqual(refusal("spec.payTo"));
  });
});
