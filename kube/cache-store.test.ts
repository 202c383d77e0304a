import { describe, expect, it } from "vitest";
import { cacheStore, isNewer } from "./cache-store.ts";

const at = (name: string, resourceVersion?: string, owner?: string) => ({ metadata: { name, namespace: "shop", resourceVersion }, owner });

describe("isNewer", () => {
  it("never lets an older write answer replace a newer watched copy", () => {
    expect(isNewer(at("x", "10"), at("x", "12"))).toBe(false);
    expect(isNewer(at("x", "13"), at("x", "12"))).toBe(true);
    expect(isNewer(at("x", "100000000000000000001"), at("x", "99999999999999999999"))).toBe(true);
  });

  it("takes the written object when versions cannot be compared", () => {
    expect(isNewer(at("x", "10"), undefined)).toBe(true);
    expect(isNewer(at("x", "abc"), at("x", "12"))).toBe(true);
  });
});

describe("cacheStore", () => {
  it("takes only newer copies as news, and knows the very version it holds", () => {
    const store = cacheStore();
    expect(store.isNews(at("a", "5"))).toBe(true);
    store.put(at("a", "5"));
    expect(store.isNews(at("a", "5"))).toBe(false);
    expect(store.isNews(at("a", "4"))).toBe(false);
    expect(store.isNews(at("a", "6"))).toBe(true);
    expect(store.get("shop", "a")?.metadata.resourceVersion).toBe("5");
    expect(store.keys()).toEqual(["shop/a"]);
  });

  it("finds objects by a secondary index, kept current through replacements and deletes", () => {
    const store = cacheStore<ReturnType<typeof at>, "byOwner">({ byOwner: (o) => (o.owner ? [o.owner] : []) });
    store.put(at("a", "1", "shop/demo"));
    store.put(at("b", "1", "shop/demo"));
    store.put(at("c", "1"));
    expect(store.byIndex("byOwner", "shop/demo").map((o) => o.metadata.name)).toEqual(["a", "b"]);
    store.put(at("b", "2", "shop/other"));
    expect(store.byIndex("byOwner", "shop/demo").map((o) => o.metadata.name)).toEqual(["a"]);
    expect(store.byIndex("byOwner", "shop/other").map((o) => o.metadata.resourceVersion)).toEqual(["2"]);
    expect(store.delete("shop/a")?.metadata.name).toBe("a");
    expect(store.delete("shop/a")).toBeUndefined();
    expect(store.byIndex("byOwner", "shop/demo")).toEqual([]);
    expect(store.values().map((o) => o.metadata.name)).toEqual(["b", "c"]);
  });
});
