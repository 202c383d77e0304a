import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { toFieldIssues } from "./field-issues.ts";
import { DEFAULT_NETWORKS, findNetwork, type Network } from "./networks.ts";
import { MAX_UINT256, PaymentRouteSchema, PaymentRouteSpecSchema, routeAmount } from "./payment-route.ts";

const route = (spec: Record<string, unknown>) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "PaymentRoute",
  metadata: { name: "r", namespace: "n", generation: 3 },
  spec: { pattern: "/services/r/*", price: "0.001", amount: "1000", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base-sepolia", priceModel: "perRequest", ...spec },
});

const usdc = findNetwork(DEFAULT_NETWORKS, "base-sepolia")!;

describe("PaymentRouteSchema", () => {
  it("fills the defaults the CRD has", () => {
    expect(v.parse(PaymentRouteSchema, route({})).spec).toMatchObject({ scheme: "exact", maxTimeoutSeconds: 300, upstreamHealthy: true, description: "" });
  });

  it("names what is wrong with a malformed route", () => {
    const result = v.safeParse(PaymentRouteSchema, route({ amount: "0", pattern: "services", priceModel: "perDay" }));
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(toFieldIssues("", result.issues).map((i) => i.field)).toEqual(["spec.pattern", "spec.amount", "spec.priceModel"]);
  });

  it("refuses a registration document that is not one, or too big to serve, naming the field", () => {
    const document = { type: "https://eips.ethereum.org/EIPS/eip-8004#registration-v1", name: "a", description: "", services: [], x402Support: true, active: true, registrations: [] };
    expect(v.safeParse(PaymentRouteSchema, route({ registration: { agent: "a", document } })).success).toBe(true);
    const bad = v.safeParse(PaymentRouteSchema, route({ registration: { agent: "../x", document: { ...document, type: "other", description: "x".repeat(5000), registrations: [{ agentId: -1, agentRegistry: "x" }] } } }));
    expect(bad.success).toBe(false);
    if (bad.success) return;
    expect(toFieldIssues("", bad.issues).map((i) => i.field)).toEqual([
      "spec.registration.agent", "spec.registration.document.type", "spec.registration.document.description",
      "spec.registration.document.registrations.0.agentId", "spec.registration.document.registrations.0.agentRegistry",
    ]);
  });

  it("accepts a hand-written route of pattern, price, payTo and network, priced per request", () => {
    const spec = v.parse(PaymentRouteSchema, { apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "r" }, spec: { pattern: "/r/*", price: "0.25", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base" } }).spec;
    expect(spec.amount).toBeUndefined();
    expect(spec.priceModel).toBe("perRequest");
  });

  it("refuses prices that are not plain non-negative decimals", () => {
    for (const price of ["-1", "-0.001", "1e3", ".5", "1.", "0x10", " 1", "1,5", "", "∞"]) {
      const result = v.safeParse(PaymentRouteSchema, route({ price }));
      expect(result.success ? price : toFieldIssues("", result.issues)[0]?.field).toBe("spec.price");
    }
  });
});

describe("routeAmount", () => {
  it("derives the amount from the price when none is given", () => {
    expect(routeAmount({ price: "0.001" }, usdc)).toEqual({ ok: true, amount: 1000n });
    expect(routeAmount({ price: "2" }, usdc)).toEqual({ ok: true, amount: 2_000_000n });
    expect(routeAmount({ price: "0.000001" }, usdc)).toEqual({ ok: true, amount: 1n });
  });

  it("accepts an amount that says the same as the price", () => {
    expect(routeAmount({ price: "0.002", amount: "2000" }, usdc)).toEqual({ ok: true, amount: 2000n });
    expect(routeAmount({ price: "0.0020000", amount: "2000" }, usdc)).toEqual({ ok: true, amount: 2000n });
  });

  it("refuses an amount above what the price means, naming both", () => {
    expect(routeAmount({ price: "0.002", amount: "1000000" }, usdc)).toEqual({
      ok: false,
      issue: {
        field: "spec.amount",
        message: '"1000000" disagrees with spec.price "0.002", which means 2000 atomic units of USDC (6 decimals); set amount to "2000" or leave it out',
      },
    });
  });

  it("refuses an amount below what the price means", () => {
    const issue = routeAmount({ price: "0.002", amount: "1000" }, usdc);
    expect(issue).toMatchObject({ ok: false, issue: { field: "spec.amount", message: expect.stringContaining('spec.price "0.002", which means 2000 atomic units') } });
  });

  it("reads the price in the network's own decimals", () => {
    const eighteen: Network = { ...usdc, name: "dai-land", decimals: 18 };
    expect(routeAmount({ price: "0.001" }, eighteen)).toEqual({ ok: true, amount: 10n ** 15n });
    expect(routeAmount({ price: "0.001", amount: "1000" }, eighteen)).toMatchObject({ ok: false, issue: { field: "spec.amount", message: expect.stringContaining("(18 decimals)") } });
  });

  it("refuses a price of zero, however it is written", () => {
    for (const price of ["0", "0.0", "000.000000000"]) {
      expect(routeAmount({ price }, usdc)).toEqual({ ok: false, issue: { field: "spec.price", message: `must be greater than 0 (got "${price}")` } });
    }
    expect(routeAmount({ price: "0", amount: "1000" }, usdc)).toMatchObject({ ok: false, issue: { field: "spec.price" } });
  });

  it("refuses a malformed price even when handed one without the schema", () => {
    for (const price of ["1.2.3", "-1", "1e3", ""]) {
      expect(routeAmount({ price }, usdc)).toEqual({ ok: false, issue: { field: "spec.price", message: `must be a decimal number such as "0.001" (got "${price}")` } });
    }
  });

  it("refuses a price finer than the token's smallest unit, never rounding it", () => {
    expect(routeAmount({ price: "0.0000001" }, usdc)).toEqual({ ok: false, issue: { field: "spec.price", message: 'has more than 6 decimals, finer than the token\'s smallest unit (got "0.0000001")' } });
    expect(routeAmount({ price: "1.0000015", amount: "1000001" }, usdc)).toMatchObject({ ok: false, issue: { field: "spec.price" } });
  });

  it("refuses a price whose amount does not fit a uint256, and takes the largest that does", () => {
    const largest = "115792089237316195423570985008687907853269984665640564039457584007913129.639935";
    expect(routeAmount({ price: largest }, usdc)).toEqual({ ok: true, amount: MAX_UINT256 });
    const justOver = "115792089237316195423570985008687907853269984665640564039457584007913129.639936";
    expect(routeAmount({ price: justOver }, usdc)).toEqual({ ok: false, issue: { field: "spec.price", message: `is too large: it means more than 2^256-1 atomic units, the most a token transfer can carry (got "${justOver}")` } });
    expect(routeAmount({ price: "1".repeat(100), amount: "1" }, usdc)).toMatchObject({ ok: false, issue: { field: "spec.price", message: expect.stringMatching(/^is too large.*\.\.\."\)$/) } });
  });

  it("judges a price of a million digits without converting them", () => {
    const started = performance.now();
    expect(routeAmount({ price: `0.001${"0".repeat(1_000_000)}` }, usdc)).toEqual({ ok: true, amount: 1000n });
    expect(routeAmount({ price: `0.001${"7".repeat(1_000_000)}` }, usdc)).toMatchObject({ ok: false, issue: { field: "spec.price" } });
    expect(routeAmount({ price: `${"0".repeat(1_000_000)}1` }, usdc)).toEqual({ ok: true, amount: 1_000_000n });
    expect(routeAmount({ price: "9".repeat(1_000_000) }, usdc)).toMatchObject({ ok: false, issue: { field: "spec.price" } });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("PaymentRoute pattern bounds", () => {
  const spec = (pattern: string) => ({ pattern, price: "0.001", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base-sepolia" });
  it("refuses a pattern too long, with too many stars, or more than one in a segment: every lookup may have to match it", () => {
    expect(v.safeParse(PaymentRouteSpecSchema, spec(`/${"a".repeat(255)}`)).success).toBe(true);
    expect(v.safeParse(PaymentRouteSpecSchema, spec(`/${"a".repeat(256)}`)).success).toBe(false);
    expect(v.safeParse(PaymentRouteSpecSchema, spec("/*a/*a/*a/*a/*a/*a/*a/*")).success).toBe(true);
    expect(v.safeParse(PaymentRouteSpecSchema, spec("/*a/*a/*a/*a/*a/*a/*a/*a/*")).success).toBe(false);
    expect(v.safeParse(PaymentRouteSpecSchema, spec("/files/*.json")).success).toBe(true);
    expect(v.safeParse(PaymentRouteSpecSchema, spec("/files/*a*.json")).success).toBe(false);
  });
});
