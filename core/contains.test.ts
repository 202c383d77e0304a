import { describe, expect, it } from "vitest";
import { containsDesired } from "./contains.ts";

describe("containsDesired", () => {
  it("ignores fields the server added", () => {
    const observed = { metadata: { name: "a", uid: "1", resourceVersion: "9" }, spec: { port: 80, weight: 1 } };
    expect(containsDesired(observed, { metadata: { name: "a" }, spec: { port: 80 } })).toBe(true);
  });

  it("notices an edited value", () => {
    expect(containsDesired({ spec: { price: "0.002" } }, { spec: { price: "0.001" } })).toBe(false);
  });

  it("notices a removed field", () => {
    expect(containsDesired({ spec: {} }, { spec: { price: "0.001" } })).toBe(false);
  });

  it("compares lists element by element, allowing added fields inside elements", () => {
    expect(containsDesired({ refs: [{ name: "a", group: "x" }] }, { refs: [{ name: "a" }] })).toBe(true);
    expect(containsDesired({ refs: [{ name: "a" }, { name: "b" }] }, { refs: [{ name: "a" }] })).toBe(false);
    expect(containsDesired({ refs: [{ name: "b" }] }, { refs: [{ name: "a" }] })).toBe(false);
  });

  it("tells types apart", () => {
    expect(containsDesired({ port: "80" }, { port: 80 })).toBe(false);
    expect(containsDesired({ a: [] }, { a: {} })).toBe(false);
    expect(containsDesired({ a: null }, { a: {} })).toBe(false);
  });
});
