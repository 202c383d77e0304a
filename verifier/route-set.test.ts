import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { compileRoutes } from "./route-set.ts";

const route = (name: string, spec: Record<string, unknown>, created = "2026-01-01T00:00:00Z") => ({
  apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute",
  metadata: { name, namespace: "shop", generation: 2, creationTimestamp: created },
  spec: { pattern: `/services/${name}/*`, price: "0.001", amount: "1000", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base-sepolia", priceModel: "perRequest", ...spec },
});

describe("compileRoutes", () => {
  it("admits good routes and refuses a malformed one with a reason, serving the others", () => {
    const set = compileRoutes([route("good", {}), route("bad", { amount: "-5" }), route("nowhere", { network: "mars" })], DEFAULT_NETWORKS);
    expect(set.table.lookup("/services/good/x")?.key).toBe("shop/good");
    expect(set.table.lookup("/services/bad/x")).toBeUndefined();
    expect(set.admissions).toEqual([
      { key: "shop/bad", generation: 2, admitted: false, reason: "InvalidSpec", message: expect.stringContaining("spec.amount") },
      { key: "shop/nowhere", generation: 2, admitted: false, reason: "InvalidSpec", message: 'spec.network: unknown network "mars"' },
      { key: "shop/good", generation: 2, admitted: true, reason: "Admitted", message: "charging 1000 atomic units on base-sepolia" },
    ]);
  });

  it("gives a contested pattern to the older route and says so on the newer one", () => {
    const set = compileRoutes([route("newer", { pattern: "/x/*" }, "2026-02-01T00:00:00Z"), route("older", { pattern: "/x/*" }, "2026-01-01T00:00:00Z")], DEFAULT_NETWORKS);
    expect(set.table.lookup("/x/1")?.key).toBe("shop/older");
    expect(set.admissions.find((a) => a.key === "shop/newer")).toMatchObject({ admitted: false, reason: "PatternConflict" });
  });
});
