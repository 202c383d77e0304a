import { describe, expect, it } from "vitest";
import { readStatus, sameStatus } from "./offer-status.ts";

describe("offer status", () => {
  it("reads a garbled status as empty, so it gets rewritten", () => {
    expect(readStatus({ conditions: "nope" })).toEqual({ conditions: [] });
    expect(readStatus(undefined)).toEqual({ conditions: [] });
  });

  it("compares statuses regardless of key order", () => {
    expect(sameStatus({ conditions: [], endpoint: "/a", observedGeneration: 1 }, { observedGeneration: 1, endpoint: "/a", conditions: [] })).toBe(true);
    expect(sameStatus({ conditions: [], observedGeneration: 1 }, { conditions: [], observedGeneration: 2 })).toBe(false);
  });
});
