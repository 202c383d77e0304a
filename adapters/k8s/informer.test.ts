import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../core/kube.ts";
import { isNewer } from "./informer.ts";

const at = (resourceVersion?: string): KubeObject => ({ apiVersion: "v1", kind: "X", metadata: { name: "x", resourceVersion } });

describe("isNewer", () => {
  it("never lets an older write answer replace a newer watched copy", () => {
    expect(isNewer(at("10"), at("12"))).toBe(false);
    expect(isNewer(at("13"), at("12"))).toBe(true);
    expect(isNewer(at("100000000000000000001"), at("99999999999999999999"))).toBe(true);
  });

  it("takes the written object when versions cannot be compared", () => {
    expect(isNewer(at("10"), undefined)).toBe(true);
    expect(isNewer(at("abc"), at("12"))).toBe(true);
  });
});
