// Which facilitator the verifier uses, and what it may read from chains: the RPC URLs serve
// the local facilitator, and, beside a remote one, find out exactly whether an unknown
// settlement landed and whether a payer is a smart wallet.
import { nonceManager } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { caip2, type Network } from "../../core/networks.ts";
import { type AgentUriReader, agentUriReader } from "./agent-uri.ts";
import { chainClients } from "./chain-clients.ts";
import type { Facilitator } from "./facilitator.ts";
import { localFacilitator } from "./facilitator-local.ts";
import { remoteFacilitator, remoteMeteredSettlers } from "./facilitator-remote.ts";
import { resolveWithChains } from "./settlement-resolver.ts";
import { contractCheck } from "./wallet-check.ts";

export type FacilitatorSettings = {
  /** "local", or the URL of a remote x402 facilitator. */
  facilitator: string;
  /** RPC URL per network name. */
  rpcUrls: Record<string, string>;
  /** The local facilitator's settlement key; absent when verifying only. */
  settlementKey?: `0x${string}`;
};

export type ChosenFacilitator = {
  facilitator: Facilitator;
  /** Present when a chain can be read for the route's network. */
  isContract?(network: Network, address: `0x${string}`): Promise<boolean>;
  /** Present when a chain can be read: an ERC-8004 agent's URI, for the host's registration document. */
  agentUri?: AgentUriReader;
  /** How unknown outcomes are resolved, for the startup log. */
  resolution: string;
  /** The account that settles metered (upto) payments on a network, named in their permits; undefined: upto is not offered there. */
  meteredSettler?(network: Network): `0x${string}` | undefined;
  /** Resolves once what the facilitator offers is known (a remote one's /supported). */
  ready?: Promise<void>;
};

/** Throws a plain Error naming what is wrong with the settings (the command line shows it as a usage error). */
export function chooseFacilitator({ facilitator, rpcUrls, settlementKey }: FacilitatorSettings): ChosenFacilitator {
  const hasRpc = Object.keys(rpcUrls).length > 0;
  // One set of clients for every chain read and settlement. One settlement account, many
  // settlements at once: a nonce manager gives each its own account nonce.
  const account = settlementKey ? privateKeyToAccount(settlementKey, { nonceManager }) : undefined;
  const chains = chainClients({ rpcUrls, settlementAccount: account });
  const isContract = hasRpc ? contractCheck(chains) : undefined;
  const agentUri = hasRpc ? agentUriReader(chains) : undefined;
  if (facilitator !== "local") {
    const remote = remoteFacilitator({ url: facilitator });
    // Its upto signer per network, from its /supported, read once at start.
    let settlers = new Map<string, `0x${string}`>();
    const ready = remoteMeteredSettlers({ url: facilitator }).then((found) => void (settlers = found));
    const meteredSettler = (n: Network) => settlers.get(caip2(n));
    if (!hasRpc) {
      return { facilitator: remote, resolution: "by asking the facilitator only: a payment that landed stays unknown (503) until --rpc lets the chain tell", meteredSettler, ready };
    }
    const resolve: Facilitator["resolve"] = async (context) => (await resolveWithChains(chains, context)) ?? remote.resolve(context);
    return { facilitator: { ...remote, resolve }, isContract, agentUri, resolution: "on chain, where an RPC is given", meteredSettler, ready };
  }
  if (!hasRpc) throw new Error("--facilitator local needs --rpc NETWORK=URL for each network it serves");
  return { facilitator: localFacilitator(chains), isContract, agentUri, resolution: "on chain", meteredSettler: account && (() => account.address) };
}
