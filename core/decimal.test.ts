import { describe, expect, it } from "vitest";
import { formatAtomic, parseDecimal, toAtomicCeil, toAtomicExact } from "./decimal.ts";

describe("parseDecimal", () => {
  it("keeps every digit", () => {
    expect(parseDecimal("0.000001")).toEqual({ numerator: 1n, scale: 6 });
    expect(parseDecimal("12")).toEqual({ numerator: 12n, scale: 0 });
    expect(parseDecimal("123456789012345678901234567890.5")?.numerator).toBe(1234567890123456789012345678905n);
  });

  it.each(["", ".5", "5.", "-1", "1e3", "0x10", " 1", "1,5", "NaN"])("rejects %s", (text) => {
    expect(parseDecimal(text)).toBeUndefined();
  });
});

describe("toAtomicExact", () => {
  it("converts USDC prices with 6 decimals", () => {
    expect(toAtomicExact("0.001", 6)).toBe(1000n);
    expect(toAtomicExact("1", 6)).toBe(1_000_000n);
    expect(toAtomicExact("0.000001", 6)).toBe(1n);
    expect(toAtomicExact("0.0010000", 6)).toBe(1000n);
  });

  it("refuses a price finer than one atomic unit instead of rounding", () => {
    expect(toAtomicExact("0.0000001", 6)).toEqual({ kind: "too-precise", decimals: 6 });
    expect(toAtomicExact("0.1234567", 6)).toEqual({ kind: "too-precise", decimals: 6 });
  });

  it("reports malformed input", () => {
    expect(toAtomicExact("abc", 6)).toEqual({ kind: "malformed" });
  });
});

describe("toAtomicCeil", () => {
  it("divides exactly when it can", () => {
    expect(toAtomicCeil("2", 6, 1n, 1000n)).toBe(2000n); // perMTok 2 USDC -> 1000 tokens
  });

  it("rounds a derived price up to the next atomic unit", () => {
    expect(toAtomicCeil("1", 6, 5n, 60n)).toBe(83334n); // perHour 1 USDC -> 5 minutes
    expect(toAtomicCeil("0.0001", 6, 1n, 1000n)).toBe(1n); // 0.1 atomic -> 1
  });
});

describe("formatAtomic", () => {
  it("prints the shortest exact decimal", () => {
    expect(formatAtomic(1000n, 6)).toBe("0.001");
    expect(formatAtomic(83334n, 6)).toBe("0.083334");
    expect(formatAtomic(1_000_000n, 6)).toBe("1");
    expect(formatAtomic(0n, 6)).toBe("0");
    expect(formatAtomic(12_345_000_000n, 6)).toBe("12345");
  });
});
