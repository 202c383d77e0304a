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

describe("payToProblem with a named token", () => {
  const obol = "0x0B01000000000000000000000000000000000b01";
  it("refuses the named token's contract", () => {
    expect(payToProblem(obol, baseSepolia, obol)).toMatch(/token contract 0x0B01/);
    expect(payToProblem(obol, baseSepolia)).toBeUndefined();
  });

  it("refuses Permit2 and the x402 Permit2 proxy, which cannot pass tokens on", () => {
    expect(payToProblem("0x000000000022D473030F116dDEE9F6B43aC78BA3", baseSepolia, obol)).toMatch(/Permit2/);
    expect(payToProblem("0x402085c248eea27d92e8b30b2c58ed07f9e20001", baseSepolia)).toMatch(/Permit2 proxy/);
  });
});

describe("payToProblem on an accept in another token", () => {
  it("still refuses the network's USDC contract, and the upto proxy", () => {
    expect(payToProblem(baseSepolia.asset, baseSepolia, "0x0B01000000000000000000000000000000000b01")).toMatch(/token contract/);
    expect(payToProblem("0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002", baseSepolia)).toMatch(/Permit2 proxy/);
  });
});
