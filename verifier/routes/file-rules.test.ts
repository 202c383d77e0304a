import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../../core/networks.ts";
import type { Candidate, Evaluated } from "./set.ts";
import { evaluateRoutes, nextRoutes, readRouteDocuments } from "./file-rules.ts";

const route = (name: string, amount = "1000", network = "base-sepolia") => ({
  apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute",
  metadata: { name, namespace: "shop" },
  spec: { pattern: `/${name}/*`, price: `0.00${amount.slice(0, 1)}`, amount, payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network, priceModel: "perRequest" },
});
const yaml = (...objects: object[]) => objects.map((o) => JSON.stringify(o)).join("\n---\n");
const verdicts = (...objects: object[]) => evaluateRoutes(objects.map((object, i) => ({ at: `document ${i + 1}`, object })), DEFAULT_NETWORKS);
const candidates = (file: Map<string, Evaluated>) => new Map([...file].map(([key, v]) => [key, (v as { candidate: Candidate }).candidate]));
const amounts = (serving: Map<string, Candidate>) => Object.fromEntries([...serving].map(([key, c]) => [key, c.route.accepts[0]!.amount.toString()]));

describe("readRouteDocuments", () => {
  it.each([["", 0], [" \n\t", 0], ["# none\n---\n# still none\n", 0], ["---\n---\n", 0]])("counts no documents in %j", (text, documents) => {
    expect(readRouteDocuments(text as string)).toEqual({ documents, routes: [] });
  });

  it("reads routes, and the items of a PaymentRouteList, saying where each stands", () => {
    const list = { apiVersion: "obol.org/v1alpha1", kind: "PaymentRouteList", items: [route("b"), route("c")] };
    expect(readRouteDocuments(`# routes\n${yaml(route("a"), list)}\n---\n`)).toEqual({
      documents: 2,
      routes: [{ at: "document 1", object: route("a") }, { at: "document 2, item 1", object: route("b") }, { at: "document 2, item 2", object: route("c") }],
    });
    expect(readRouteDocuments(yaml({ ...list, items: [] }))).toEqual({ documents: 1, routes: [] });
  });

  it.each([
    [`${yaml(route("a"))}\n---\nspec: [unclosed`, /^document 2: Flow sequence/],
    [`${yaml(route("a"))}\n---\na: 1\na: 2`, /^document 2: Map keys must be unique/],
    [yaml(route("a"), { apiVersion: "v1", kind: "ConfigMap" }), 'document 2: expected a PaymentRoute, or a PaymentRouteList with items (apiVersion obol.org/v1alpha1), found apiVersion "v1", kind "ConfigMap"'],
    [yaml({ ...route("a"), apiVersion: "obol.org/v1" }), /^document 1: .* found apiVersion "obol.org\/v1", kind "PaymentRoute"$/],
    ["just words", 'document 1: expected a PaymentRoute, or a PaymentRouteList with items, found "just words"'],
    [yaml({ apiVersion: "obol.org/v1alpha1", kind: "PaymentRouteList" }), /^document 1: expected/],
    [yaml({ apiVersion: "obol.org/v1alpha1", kind: "PaymentRouteList", items: [route("a"), { kind: "PaymentRoute" }] }), 'document 1, item 2: expected a PaymentRoute (apiVersion obol.org/v1alpha1), found apiVersion none, kind "PaymentRoute"'],
  ])("refuses the whole file for %j", (text, error) => {
    expect(readRouteDocuments(text)).toEqual({ error: typeof error === "string" ? error : expect.stringMatching(error) });
  });
});

describe("evaluateRoutes", () => {
  it("keys verdicts by namespace/name, and refuses a name given twice", () => {
    const file = verdicts(route("a"), route("b"), { ...route("a", "2000"), metadata: { name: "a" } }, route("b", "3000"));
    expect([...file.keys()]).toEqual(["shop/a", "shop/b", "default/a"]);
    expect(file.get("shop/b")).toEqual({ admission: { key: "shop/b", admitted: false, reason: "InvalidSpec", message: "defined more than once (document 2 and document 4)" } });
  });
});

describe("nextRoutes", () => {
  const last = candidates(verdicts(route("a"), route("b"), route("c")));

  it("applies valid routes, keeps the last good version of an invalid one, and refuses a new invalid one", () => {
    const next = nextRoutes(last, verdicts(route("a", "2000"), route("b", "3000", "mars"), route("c"), route("d", "4000", "mars")), false);
    expect(amounts(next.serving)).toEqual({ "shop/a": "2000", "shop/b": "1000", "shop/c": "1000" });
    expect(next.kept).toEqual([expect.objectContaining({ key: "shop/b", message: 'spec.network: unknown network "mars"' })]);
    expect(next.refused).toEqual([expect.objectContaining({ key: "shop/d", reason: "InvalidSpec" })]);
    expect(next.absent).toEqual([]);
  });

  it("keeps serving routes the file left out until told to remove them", () => {
    const file = verdicts(route("a", "2000"));
    const waiting = nextRoutes(last, file, false);
    expect(amounts(waiting.serving)).toEqual({ "shop/a": "2000", "shop/b": "1000", "shop/c": "1000" });
    expect(waiting.absent).toEqual(["shop/b", "shop/c"]);
    const removed = nextRoutes(waiting.serving, file, true);
    expect(amounts(removed.serving)).toEqual({ "shop/a": "2000" });
    expect(removed.absent).toEqual(["shop/b", "shop/c"]);
  });

  it("removes everything when the file says so", () => {
    expect(nextRoutes(last, new Map(), true).serving.size).toBe(0);
  });
});
