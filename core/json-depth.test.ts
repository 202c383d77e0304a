import { describe, expect, it } from "vitest";
import { nestingDepth } from "./json-depth.ts";

const nested = (depth: number) => {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { x: value };
  return value;
};

describe("nestingDepth", () => {
  it("counts objects and arrays, scalars as 0", () => {
    expect(nestingDepth("a")).toBe(0);
    expect(nestingDepth(null)).toBe(0);
    expect(nestingDepth({ a: 1, b: [1, { c: 2 }] })).toBe(3);
    expect(nestingDepth(nested(10))).toBe(10);
  });

  it("measures a document far deeper than the stack allows, without recursion", () => {
    // Deep enough that Node's JSON.stringify overflows its stack on it (Deno's may not).
    expect(nestingDepth(nested(200_000))).toBe(Infinity);
    expect(nestingDepth(nested(64))).toBe(64);
    expect(nestingDepth(nested(65))).toBe(Infinity);
  });

  it("gives up on documents with too many values", () => {
    expect(nestingDepth(Array.from({ length: 200_000 }, () => 1))).toBe(Infinity);
  });
});
