// The chains and stablecoins a route can be priced in. The verifier reads the same table,
// so an offer and its 402 answer can never disagree about the token.

export type Network = {
  /** The name offers use, e.g. "base-sepolia" (x402 v1 spells networks this way). */
  name: string;
  chainId: number;
  /** The token's contract address. */
  asset: `0x${string}`;
  /** The token's ticker, for people and dashboards (e.g. "USDC"). */
  symbol: string;
  /** The token's EIP-712 domain: name and version. */
  tokenName: string;
  tokenVersion: string;
  decimals: number;
};

// USDC per chain as @x402/evm 2.27 lists it (defaultAssets.ts): address, EIP-712 name and version.
export const DEFAULT_NETWORKS: readonly Network[] = [
  usdc("base-sepolia", 84532, "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC"),
  usdc("base", 8453, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin"),
  usdc("polygon", 137, "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin"),
  usdc("polygon-amoy", 80002, "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", "USDC"),
  usdc("avalanche", 43114, "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", "USD Coin"),
  usdc("avalanche-fuji", 43113, "0x5425890298aed601595a70AB815c96711a31Bc65", "USD Coin"),
  usdc("ethereum", 1, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USD Coin"),
  usdc("arbitrum-one", 42161, "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "USD Coin"),
  usdc("arbitrum-sepolia", 421614, "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", "USD Coin"),
];

/** Other names obol-stack's offers use for the same networks. */
export const NETWORK_ALIASES: Readonly<Record<string, string>> = {
  "mainnet": "ethereum",
  "ethereum-mainnet": "ethereum",
  "arbitrum": "arbitrum-one",
  "base-mainnet": "base",
  "polygon-mainnet": "polygon",
  "avalanche-mainnet": "avalanche",
};

function usdc(name: string, chainId: number, asset: `0x${string}`, tokenName: string): Network {
  return { name, chainId, asset, symbol: "USDC", tokenName, tokenVersion: "2", decimals: 6 };
}

/** x402 v2 names networks by CAIP-2 id. */
export function caip2(network: Network): string {
  return `eip155:${network.chainId}`;
}

/** How each x402 version names a network: v1 by name ("base-sepolia"), v2 by CAIP-2 id. */
export function networkIdFor(x402Version: 1 | 2, network: Network): string {
  return x402Version === 1 ? network.name : caip2(network);
}

/** Finds a network by its name, an alias of it (NETWORK_ALIASES) or its CAIP-2 id ("eip155:84532"). */
export function findNetwork(networks: readonly Network[], id: string): Network | undefined {
  const name = Object.hasOwn(NETWORK_ALIASES, id) ? NETWORK_ALIASES[id] : id;
  return networks.find((n) => n.name === name || caip2(n) === id);
}
