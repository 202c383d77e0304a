import { describe, expect, it } from "vitest";
import { DEFAULT_ASSETS } from "@x402/evm";
import { evm } from "x402/types";
import { caip2, DEFAULT_NETWORKS, findNetwork, NETWORK_ALIASES } from "./networks.ts";

describe("networks", () => {
  it("finds a network by name and by CAIP-2 id", () => {
    expect(findNetwork(DEFAULT_NETWORKS, "base-sepolia")?.chainId).toBe(84532);
    expect(findNetwork(DEFAULT_NETWORKS, "eip155:8453")?.name).toBe("base");
    expect(findNetwork(DEFAULT_NETWORKS, "ethereum-classic")).toBeUndefined();
  });

  it("uses USDC with 6 decimals and EIP-712 version 2 everywhere", () => {
    for (const network of DEFAULT_NETWORKS) {
      expect(network.decimals).toBe(6);
      expect(network.tokenVersion).toBe("2");
      expect(network.asset).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(caip2(network)).toBe(`eip155:${network.chainId}`);
    }
  });

  it("knows the names obol-stack's offers use for the same networks", () => {
    expect(Object.fromEntries(["mainnet", "ethereum-mainnet", "arbitrum", "ethereum", "base-mainnet", "polygon-mainnet", "avalanche-mainnet", "arbitrum-one", "arbitrum-sepolia", "eip155:42161"].map((id) => [id, findNetwork(DEFAULT_NETWORKS, id)?.name]))).toEqual({
      "mainnet": "ethereum", "ethereum-mainnet": "ethereum", "arbitrum": "arbitrum-one", "ethereum": "ethereum", "base-mainnet": "base", "polygon-mainnet": "polygon", "avalanche-mainnet": "avalanche",
      "arbitrum-one": "arbitrum-one", "arbitrum-sepolia": "arbitrum-sepolia", "eip155:42161": "arbitrum-one",
    });
    for (const target of Object.values(NETWORK_ALIASES)) expect(findNetwork(DEFAULT_NETWORKS, target)).toBeDefined();
    expect(findNetwork(DEFAULT_NETWORKS, "toString")).toBeUndefined();
  });

  it("charges the very token the official x402 packages name for each chain (address, EIP-712 name and version)", () => {
    const v2 = DEFAULT_ASSETS as unknown as Record<string, readonly { asset: string; name: string; version: string; decimals: number }[]>;
    const v1 = evm.config as Record<string, { usdcAddress: string; usdcName: string }>;
    for (const network of DEFAULT_NETWORKS) {
      // @x402/evm 2.x where it lists the chain, else x402 1.x (which lists the testnets it leaves out).
      const listed = v2[caip2(network)]?.[0];
      const official = listed
        ? { asset: listed.asset.toLowerCase(), name: listed.name, version: listed.version, decimals: listed.decimals, symbol: (listed as { symbol?: string }).symbol }
        : { asset: v1[String(network.chainId)]?.usdcAddress.toLowerCase(), name: v1[String(network.chainId)]?.usdcName, version: "2", decimals: 6, symbol: "USDC" };
      expect([network.name, official]).toEqual([network.name, { asset: network.asset.toLowerCase(), name: network.tokenName, version: network.tokenVersion, decimals: network.decimals, symbol: network.symbol }]);
    }
  });
});
