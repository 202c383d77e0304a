import { describe, expect, it } from "vitest";
import { caip2, DEFAULT_NETWORKS, findNetwork } from "./networks.ts";

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
});
