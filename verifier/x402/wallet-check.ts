// Is a payer a contract? Only a contract wallet (ERC-1271) may sign with a key that is not
// its address, so a signature that does not recover to the payer is junk unless the chain
// says the payer holds code.
import type { Network } from "../../core/networks.ts";
import type { ChainClients } from "./chain-clients.ts";
import { beforeDeadline, deadlineAfter, TIMED_OUT } from "../../adapters/deadline.ts";
import { boundedSlots } from "../../adapters/slots.ts";

/** Reads of a payer's code at once; more wait for a free one, briefly. */
const CONTRACT_READS = 16;
/** An address found without code may yet be deployed (a counterfactual wallet): asked again after this. */
const NO_CODE_TTL_MS = 60_000;

/**
 * Whether an address holds code. A flood of forged signatures must not become a flood of
 * RPC reads: answers are cached (a contract for good, no code for a minute), one read per
 * address is in flight at a time, and reads are bounded.
 */
export function contractCheck(chains: ChainClients, now: () => number = Date.now) {
  const reads = boundedSlots(CONTRACT_READS);
  const known = new Map<string, { contract: boolean; until: number }>();
  const pending = new Map<string, Promise<boolean>>();
  const read = async (network: Network, address: `0x${string}`, key: string): Promise<boolean> => {
    const c = chains.for(network);
    if (!c) return false;
    const release = await reads.acquire(deadlineAfter(1000));
    if (!release) throw new Error("too many wallet checks in progress");
    try {
      const code = await beforeDeadline(deadlineAfter(5000), c.public.getCode({ address }));
      if (code === TIMED_OUT) throw new Error(`${network.name}: no answer about ${address}`);
      const contract = code !== undefined && code !== "0x";
      if (known.size > 100_000) known.clear();
      known.set(key, { contract, until: contract ? Infinity : now() + NO_CODE_TTL_MS });
      return contract;
    } finally {
      release();
    }
  };
  return (network: Network, address: `0x${string}`): Promise<boolean> => {
    const key = `${network.chainId}:${address.toLowerCase()}`;
    const cached = known.get(key);
    if (cached && cached.until > now()) return Promise.resolve(cached.contract);
    let inFlight = pending.get(key);
    if (!inFlight) {
      pending.set(key, inFlight = read(network, address, key).finally(() => pending.delete(key)));
    }
    return inFlight;
  };
}
