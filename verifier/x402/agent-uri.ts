// An ERC-8004 agent's URI as its Identity Registry holds it, for the verifier's host
// document: an agent is listed there only if the chain says its URI is on this host. Cached
// for a minute (the document is read by crawlers, not on the payment path), one read per
// agent in flight, a few seconds at most.
import { parseAbi } from "viem";
import { beforeDeadline, deadlineAfter, TIMED_OUT } from "../../adapters/deadline.ts";
import type { Network } from "../../core/networks.ts";
import type { ChainClients } from "./chain-clients.ts";

const TOKEN_URI = parseAbi(["function tokenURI(uint256 tokenId) view returns (string)"]);
const TTL_MS = 60_000;
const MAX_CACHED = 10_000;
const MAX_URI_LENGTH = 2048;

export type AgentUriReader = (network: Network, registry: `0x${string}`, agentId: bigint) => Promise<string | undefined>;

export function agentUriReader(chains: ChainClients, now: () => number = Date.now): AgentUriReader {
  const known = new Map<string, { uri: string | undefined; until: number }>();
  const pending = new Map<string, Promise<string | undefined>>();
  const read = async (network: Network, registry: `0x${string}`, agentId: bigint, key: string) => {
    const c = chains.for(network);
    if (!c) return undefined;
    // An agent that does not exist (or a chain that fails) is not listed: nothing is claimed for it.
    const uri = await beforeDeadline(deadlineAfter(3000), c.public.readContract({ address: registry, abi: TOKEN_URI, functionName: "tokenURI", args: [agentId] })).catch(() => undefined);
    // A URI longer than any document URL we make is no document of ours: not kept.
    const value = uri === TIMED_OUT || uri === undefined || uri.length > MAX_URI_LENGTH ? undefined : uri;
    // The oldest goes first (a Map keeps insertion order), so a flood of agents cannot empty the cache of the host's own.
    if (known.size >= MAX_CACHED) known.delete(known.keys().next().value!);
    known.set(key, { uri: value, until: now() + TTL_MS });
    return value;
  };
  return (network, registry, agentId) => {
    const key = `${network.chainId}:${registry.toLowerCase()}:${agentId}`;
    const cached = known.get(key);
    if (cached && cached.until > now()) return Promise.resolve(cached.uri);
    let inFlight = pending.get(key);
    if (!inFlight) pending.set(key, inFlight = read(network, registry, agentId, key).finally(() => pending.delete(key)));
    return inFlight;
  };
}
