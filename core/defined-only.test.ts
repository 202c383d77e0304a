import { describe, expect, it } from "vitest";
import { definedOnly } from "./defined-only.ts";

describe("definedOnly", () => {
  it("drops undefined fields and keeps every other value, falsy ones included", () => {
    expect(definedOnly({ a: 1, b: undefined, c: null, d: 0, e: "", f: false })).toEqual({ a: 1, c: null, d: 0, e: "", f: false });
    expect(Object.keys(definedOnly({ a: undefined }))).toEqual([]);
  });
});
