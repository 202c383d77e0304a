import { describe, expect, it } from "vitest";
import { maxTokensFor, perMTokAtomic, tokenCost } from "./metering.ts";

describe("metered prices", () => {
  const metering = { perMTokAtomic: perMTokAtomic("1.25", 6)!, maxTokens: 4096 };

  it("charges per token, rounded up to the smallest unit, never above the cap, nothing for nothing", () => {
    expect(metering.perMTokAtomic).toBe(1_250_000n);
    expect(tokenCost(metering, 0)).toBe(0n);
    expect(tokenCost(metering, 1)).toBe(2n); // 1.25 units, rounded up
    expect(tokenCost(metering, 800)).toBe(1000n);
    expect(tokenCost(metering, 1_000_000)).toBe(tokenCost(metering, 4096));
  });

  it("is exact for an 18-decimal token", () => {
    const obol = { perMTokAtomic: perMTokAtomic("0.5", 18)!, maxTokens: 10 };
    expect(tokenCost(obol, 3)).toBe(3n * 5n * 10n ** 11n);
  });

  it("refuses a rate the token cannot express, or zero", () => {
    expect(perMTokAtomic("0.0000001", 6)).toBeUndefined();
    expect(perMTokAtomic("0", 6)).toBeUndefined();
  });

  it("bounds a request by what it asks to generate plus its own length, within the cap", () => {
    expect(maxTokensFor({ max_tokens: 100 }, 50, 4096)).toBe(150);
    expect(maxTokensFor({ max_completion_tokens: 10 }, 5, 4096)).toBe(15);
    expect(maxTokensFor({}, 50, 4096)).toBe(4096);
    expect(maxTokensFor({ max_tokens: 10_000 }, 50, 4096)).toBe(4096);
    expect(maxTokensFor({ max_tokens: -5 }, 50, 4096)).toBe(4096);
  });
});
