// viem clients per network, from the RPC URLs the verifier is given: shared by the local
// facilitator (verify and settle) and by the settlement resolver a remote facilitator is
// paired with. No retries: a failed call is answered at once, and the caller decides what
// it means (an RPC error before sending is "unavailable", after sending "unknown").
import { type Account, type Chain, createPublicClient, createWalletClient, defineChain, http, type PublicClient, type WalletClient } from "viem";
import type { Network } from "../../core/networks.ts";

/** How far back a resolver looks for the transaction that used a nonce (about 5 h on Base, 33 h on Ethereum). */
export const LOOKBACK_BLOCKS = 10_000n;

export type NetworkClients = { public: PublicClient; wallet?: WalletClient; chain: Chain };
export type ChainClients = { for(network: Network): NetworkClients | undefined };

export type ChainClientOptions = {
  /** RPC URL per network name. */
  rpcUrls: Record<string, string>;
  /** Pays gas for settlement; absent when only reading. */
  settlementAccount?: Account;
  rpcTimeoutMs?: number;
};

export function chainClients(options: ChainClientOptions): ChainClients {
  const clients = new Map<string, NetworkClients>();
  return {
    for(network) {
      const url = options.rpcUrls[network.name];
      if (!url) return undefined;
      let entry = clients.get(network.name);
      if (!entry) {
        const chain = defineChain({ id: network.chainId, name: network.name, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [url] } } });
        const transport = http(url, { timeout: options.rpcTimeoutMs ?? 10_000, retryCount: 0, batch: true });
        entry = {
          chain,
          public: createPublicClient({ chain, transport }) as PublicClient,
          wallet: options.settlementAccount ? createWalletClient({ chain, transport, account: options.settlementAccount }) : undefined,
        };
        clients.set(network.name, entry);
      }
      return entry;
    },
  };
}

/** The first line of a viem error, without the request it carried. */
export function describeError(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string };
  return (e.shortMessage ?? e.message ?? String(error)).split("\n")[0]!;
}
