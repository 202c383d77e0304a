import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.ts";

describe("backoffDelay", () => {
  it("doubles up to the ceiling, with jitter in the upper half", () => {
    const backoff = { initialMs: 100, maxMs: 1000 };
    expect(backoffDelay(1, backoff, () => 0)).toBe(50);
    expect(backoffDelay(1, backoff, () => 1)).toBe(100);
    expect(backoffDelay(2, backoff, () => 0.5)).toBe(150);
    expect(backoffDelay(3, backoff, () => 1)).toBe(400);
    expect(backoffDelay(20, backoff, () => 1)).toBe(1000);
    expect(backoffDelay(20, backoff, () => 0)).toBe(500);
  });

  it("treats zero failures as the first", () => {
    expect(backoffDelay(0, { initialMs: 100, maxMs: 1000 }, () => 1)).toBe(100);
  });

  it("stays within its bounds for any draw", () => {
    for (let failures = 1; failures < 30; failures++) {
      const delay = backoffDelay(failures, { initialMs: 250, maxMs: 5000 });
      expect(delay).toBeGreaterThanOrEqual(125);
      expect(delay).toBeLessThanOrEqual(5000);
    }
  });
});
