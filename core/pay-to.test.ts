import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS, findNetwork } from "./networks.ts";
import { payToProblem } from "./pay-to.ts";

const baseSepolia = findNetwork(DEFAULT_NETWORKS, "base-sepolia")!;

describe("payToProblem", () => {
  it("accepts an ordinary address", () => {
    expect(payToProblem("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", baseSepolia)).toBeUndefined();
  });

  it("refuses the zero address, with or without a known network", () => {
    expect(payToProblem("0x0000000000000000000000000000000000000000", baseSepolia)).toMatch(/zero address/);
    expect(payToProblem("0x0000000000000000000000000000000000000000", undefined)).toMatch(/zero address/);
  });

  it("refuses the network's token contract in any letter case", () => {
    for (const spelling of [baseSepolia.asset, baseSepolia.asset.toLowerCase(), `0x${baseSepolia.asset.slice(2).toUpperCase()}`]) {
      expect(payToProblem(spelling, baseSepolia)).toBe(`must not be the base-sepolia token contract ${baseSepolia.asset}, which no one can collect from (got "${spelling}")`);
    }
  });

  it("refuses only the token of the route's own network", () => {
    const base = findNetwork(DEFAULT_NETWORKS, "base")!;
    expect(payToProblem(base.asset, baseSepolia)).toBeUndefined();
  });
});
