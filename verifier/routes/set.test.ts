import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../../core/networks.ts";
import { type Admission, compileRoutes, evaluateRoute, liveRouteSet } from "./set.ts";

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
      { key: "shop/good", generation: 2, admitted: true, reason: "Admitted", message: "charging 1000 atomic units of USDC on base-sepolia" },
    ]);
  });

  it("a route nested thousands of levels deep (a tenant's) is refused alone; the others are served", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const bazaar = { info: { x: deep }, schema: {} };
    const set = compileRoutes([route("good", {}), route("deep", { bazaar })], DEFAULT_NETWORKS);
    expect(set.table.lookup("/services/good/x")?.key).toBe("shop/good");
    expect(set.admissions.find((a) => a.key === "shop/deep")).toMatchObject({ admitted: false, reason: "InvalidSpec", message: expect.stringContaining("nests deeper") });
  });

  it("refuses a route with a field it does not implement, naming every one, instead of charging without it", () => {
    const set = compileRoutes([route("token", { asset: { address: "0x4444444444444444444444444444444444444444", decimals: 18, color: "red" }, hostname: "a.example" })], DEFAULT_NETWORKS);
    expect(set.table.lookup("/services/token/x")).toBeUndefined();
    expect(set.admissions).toEqual([{
      key: "shop/token", generation: 2, admitted: false, reason: "InvalidSpec",
      message: expect.stringMatching(/^spec\.asset\.color: is not a field this operator knows.*; spec\.hostname: is not implemented yet/),
    }]);
  });

  it("refuses a route that asks for another namespace's Secret, instead of reading its own namespace's without a word", () => {
    const set = compileRoutes([route("borrower", { upstreamAuth: { secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY", namespace: "other-tenant" }, scheme: "Bearer" } })], DEFAULT_NETWORKS);
    expect(set.table.lookup("/services/borrower/x")).toBeUndefined();
    expect(set.admissions[0]).toMatchObject({ admitted: false, reason: "InvalidSpec", message: expect.stringContaining("spec.upstreamAuth.secretKeyRef.namespace: is not a field") });
  });

  it("gives a contested pattern to the older route and says so on the newer one", () => {
    const set = compileRoutes([route("newer", { pattern: "/x/*" }, "2026-02-01T00:00:00Z"), route("older", { pattern: "/x/*" }, "2026-01-01T00:00:00Z")], DEFAULT_NETWORKS);
    expect(set.table.lookup("/x/1")?.key).toBe("shop/older");
    expect(set.admissions.find((a) => a.key === "shop/newer")).toMatchObject({ admitted: false, reason: "PatternConflict" });
    expect([set.served("shop/older")?.key, set.served("shop/newer"), set.served("shop/absent")]).toEqual(["shop/older", undefined, undefined]);
  });
});

describe("liveRouteSet", () => {
  const PATTERNS = ["/x/*", "/x/*", "/y/*", "/y", "/y/", "/z/*/q"];
  const DAYS = ["01", "02", "03"];
  const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const byKey = (admissions: readonly Admission[]) => [...admissions].sort((a, b) => a.key.localeCompare(b.key));

  it("agrees with compiling every object afresh, and names every route whose admission a change moved", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seeded(seed);
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
      const live = liveRouteSet();
      const objects = new Map<string, ReturnType<typeof route>>();
      for (let step = 0; step < 30; step++) {
        const name = pick(["a", "b", "c", "d", "e"]);
        const before = new Map(live.admissions.map((a) => [a.key, a]));
        let touched: string[];
        if (objects.has(name) && random() < 0.3) {
          objects.delete(name);
          touched = live.put(name, undefined);
        } else {
          const object = route(name, { pattern: pick(PATTERNS), amount: random() < 0.15 ? "0" : "1000" }, `2026-01-${pick(DAYS)}T00:00:00Z`);
          objects.set(name, object);
          touched = live.put(name, evaluateRoute(object, DEFAULT_NETWORKS));
        }
        const compiled = compileRoutes([...objects.values()], DEFAULT_NETWORKS);
        expect([seed, step, byKey(live.admissions)]).toEqual([seed, step, byKey(compiled.admissions)]);
        for (const path of ["/x/1", "/y", "/y/2", "/z/w/q"]) expect(live.table.lookup(path)?.key).toBe(compiled.table.lookup(path)?.key);
        expect(live.table.size).toBe(compiled.table.size);
        for (const admission of live.admissions) {
          const name = admission.key.split("/")[1]!;
          if (JSON.stringify(before.get(admission.key)) !== JSON.stringify(admission)) expect([seed, step, touched]).toEqual([seed, step, expect.arrayContaining([name])]);
          expect(live.admission(name)).toEqual(admission);
        }
      }
    }
  });

  it("hands a contested pattern to the next oldest route when the holder goes", () => {
    const live = liveRouteSet();
    live.put("older", evaluateRoute(route("older", { pattern: "/x/*" }, "2026-01-01T00:00:00Z"), DEFAULT_NETWORKS));
    live.put("newer", evaluateRoute(route("newer", { pattern: "/x/*" }, "2026-02-01T00:00:00Z"), DEFAULT_NETWORKS));
    expect(live.admission("newer")).toMatchObject({ admitted: false, reason: "PatternConflict", message: "pattern /x/* is already served by PaymentRoute shop/older" });
    expect([live.served("older")?.key, live.served("newer")]).toEqual(["shop/older", undefined]);
    expect(live.put("older", undefined).sort()).toEqual(["newer", "older"]);
    expect(live.admission("newer")).toMatchObject({ admitted: true, reason: "Admitted" });
    expect([live.served("older"), live.served("newer")?.key]).toEqual([undefined, "shop/newer"]);
    expect(live.table.lookup("/x/1")?.key).toBe("shop/newer");
  });

  it("keeps a pattern with the older route when a newer one in another namespace spells it with more slashes", () => {
    const live = liveRouteSet();
    const victim = { ...route("a-payment", { pattern: "/services/a/*" }, "2026-01-01T00:00:00Z"), metadata: { name: "a-payment", namespace: "victim", creationTimestamp: "2026-01-01T00:00:00Z" } };
    const rival = { ...route("evil", { pattern: "/services/a//*", payTo: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" }, "2026-03-01T00:00:00Z"), metadata: { name: "evil", namespace: "zzz", creationTimestamp: "2026-03-01T00:00:00Z" } };
    live.put("victim/a-payment", evaluateRoute(victim, DEFAULT_NETWORKS));
    live.put("zzz/evil", evaluateRoute(rival, DEFAULT_NETWORKS));
    expect(live.admission("zzz/evil")).toMatchObject({ admitted: false, reason: "PatternConflict", message: "pattern /services/a//* (the same paths as /services/a/*) is already served by PaymentRoute victim/a-payment" });
    expect(live.admission("victim/a-payment")).toMatchObject({ admitted: true });
    expect(live.table.lookup("/services/a/v1/chat")?.key).toBe("victim/a-payment");
    expect(live.served("zzz/evil")).toBeUndefined();
  });
});
