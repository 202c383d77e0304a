import { describe, expect, it } from "vitest";
import { sortKeys } from "./yaml-order.ts";

describe("sortKeys", () => {
  it("sorts keys at every depth, keeps list order, drops undefined", () => {
    const sorted = sortKeys({ b: 1, a: [{ z: 1, y: 2 }], c: undefined });
    expect(JSON.stringify(sorted)).toBe('{"a":[{"y":2,"z":1}],"b":1}');
  });
});
