import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "./config.ts";
import { validateOffer } from "./validate-offer.ts";

const spec = () => ({
  upstream: { service: "llm", namespace: "llm" },
  payment: { network: "base-sepolia", payTo: "0x1111111111111111111111111111111111111111", price: { perRequest: "0.001" } },
});

function issuesOf(raw: unknown) {
  const result = validateOffer("demo", raw, DEFAULT_CONFIG);
  return result.ok ? [] : result.issues;
}

describe("validateOffer", () => {
  it("applies the CRD's defaults", () => {
    const result = validateOffer("demo", spec(), DEFAULT_CONFIG);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.offer.spec.type).toBe("http");
    expect(result.offer.spec.upstream).toEqual({ service: "llm", namespace: "llm", port: 11434, healthPath: "/health" });
    expect(result.offer.spec.payment.maxTimeoutSeconds).toBe(300);
    expect(result.offer.path).toBe("/services/demo");
    expect(result.offer.price.amount).toBe(1000n);
  });

  it("names each missing or malformed field", () => {
    expect(issuesOf({})).toEqual([
      { field: "spec.upstream", message: "is required" },
      { field: "spec.payment", message: "is required" },
    ]);
    const bad = spec();
    bad.payment.payTo = "0x12";
    expect(issuesOf(bad)).toEqual([
      { field: "spec.payment.payTo", message: 'must be 0x followed by 40 hex digits (got "0x12")' },
    ]);
  });

  it("names what is wrong with a discovery opt-in, and refuses an example answer too big for every 402", () => {
    expect(issuesOf({ ...spec(), discovery: { bazaar: "yes", output: "sunny", extra: 1 } }).map((i) => i.field)).toEqual(["spec.discovery.extra", "spec.discovery.bazaar", "spec.discovery.output"]);
    expect(issuesOf({ ...spec(), discovery: { bazaar: true, output: { text: "x".repeat(9000) } } }).map((i) => i.field)).toEqual(["spec.discovery"]);
    expect(issuesOf({ ...spec(), discovery: { bazaar: true, input: { q: "x" } } })).toEqual([]);
  });

  it("refuses a spec nested thousands of levels deep, naming it, without walking it", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(issuesOf({ ...spec(), discovery: { bazaar: true, output: { deep } } })).toEqual([{ field: "spec", message: expect.stringContaining("nests deeper") }]);
    expect(issuesOf({ ...spec(), registration: { enabled: true, metadata: { deep } } })).toEqual([{ field: "spec", message: expect.stringContaining("nests deeper") }]);
  });

  it("refuses a payTo no one can collect from: the zero address or the network's token", () => {
    const zero = spec();
    zero.payment.payTo = "0x0000000000000000000000000000000000000000";
    expect(issuesOf(zero)).toEqual([{ field: "spec.payment.payTo", message: 'must not be the zero address, which no one can collect from (got "0x0000000000000000000000000000000000000000")' }]);
    const token = spec();
    token.payment.payTo = "0x036cbd53842C5426634E7929541EC2318F3DCF7E";
    expect(issuesOf(token)).toEqual([{ field: "spec.payment.payTo", message: expect.stringContaining("base-sepolia token contract 0x036CbD53842c5426634e7929541eC2318f3dCF7e") }]);
    const otherChainsToken = spec();
    otherChainsToken.payment.payTo = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
    expect(issuesOf(otherChainsToken)).toEqual([]);
  });

  it("refuses the zero address even on a network it does not know", () => {
    const bad = spec();
    bad.payment.network = "dogechain";
    bad.payment.payTo = "0x0000000000000000000000000000000000000000";
    expect(issuesOf(bad).map((i) => i.field)).toEqual(["spec.payment.network", "spec.payment.payTo"]);
  });

  it("refuses an unknown network and lists the known ones", () => {
    const bad = spec();
    bad.payment.network = "dogechain";
    expect(issuesOf(bad)[0]).toEqual({
      field: "spec.payment.network",
      message: expect.stringMatching(/unknown network "dogechain" \(known: base-sepolia, base,/),
    });
  });

  it("refuses paths that normalize to something else", () => {
    expect(issuesOf({ ...spec(), path: "/a/../b" })[0]?.field).toBe("spec.path");
    expect(issuesOf({ ...spec(), path: "/a//b" })[0]?.field).toBe("spec.path");
  });

  it("drops a trailing slash from the path", () => {
    const result = validateOffer("demo", { ...spec(), path: "/shop/v1/" }, DEFAULT_CONFIG);
    expect(result.ok && result.offer.path).toBe("/shop/v1");
  });

  it("refuses the stack's reserved paths with their own reason, whichever way they are written", () => {
    for (const path of ["/", "//", "/api/", "/services", "/services/", "/.well-known/x"]) {
      const result = validateOffer("demo", { ...spec(), path }, DEFAULT_CONFIG);
      expect(result.ok ? "published" : result.issues.map((i) => i.reason)).toEqual(["ReservedPath"]);
    }
  });

  it("reports every problem at once", () => {
    const bad = spec();
    bad.payment.network = "nowhere";
    bad.payment.price.perRequest = "0.0000001";
    expect(issuesOf({ ...bad, path: "/x/./y" }).map((i) => i.field)).toEqual([
      "spec.payment.network",
      "spec.payment.price.perRequest",
      "spec.path",
    ]);
  });
});
