// Where a payment may go. A well-formed address can still pay nobody: no one holds the
// key of the zero address, and the token contract cannot spend what is sent to it (USDC
// refuses both as recipients, so every payment to them would fail at settlement).
import * as v from "valibot";
import type { Network } from "./networks.ts";
import { PERMIT2_CONTRACTS } from "./permit2.ts";

/** An EVM address as x402 and our CRDs write it: 0x and 40 hex digits, any case. */
export const ADDRESS_PATTERN = /^0x[0-9a-fA-F]{40}$/;

export const AddressSchema = v.pipe(v.string(), v.regex(ADDRESS_PATTERN, "must be 0x followed by 40 hex digits"));

/** Addresses are compared without their checksum case. */
export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** Why `payTo` can never be paid in `token` (the network's USDC unless named) on `network`, or undefined when it can. */
export function payToProblem(payTo: string, network: Network | undefined, token: string | undefined = network?.asset): string | undefined {
  const address = payTo.toLowerCase();
  if (address === ZERO_ADDRESS) return `must not be the zero address, which no one can collect from (got "${payTo}")`;
  for (const contract of [token, network?.asset]) {
    if (network && contract && address === contract.toLowerCase()) {
      return `must not be the ${network.name} token contract ${contract}, which no one can collect from (got "${payTo}")`;
    }
  }
  if (PERMIT2_CONTRACTS.includes(address)) {
    return `must not be the Permit2 contract or an x402 Permit2 proxy, which no one can collect from (got "${payTo}")`;
  }
  return undefined;
}
