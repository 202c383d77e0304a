// Who signed a payment (an EIP-3009 authorization or a Permit2 permit), checked here before any facilitator or RPC call: recovering an
// EIP-712 signature costs a couple of milliseconds of CPU, a facilitator round trip costs
// a socket and a remote's rate limit. A 65-byte signature that does not recover to the
// payer is junk unless the payer is a contract (ERC-1271), which only a chain can tell.
import { recoverTypedDataAddress, size } from "viem";
import { typedDataFor } from "./eip3009.ts";
import type { PaymentAttempt } from "./payment-header.ts";
import type { PricedAccept } from "../routes/priced-route.ts";
import { isPermit2, permit2TypedData } from "./permit2.ts";

/** payer: an EOA signature naming the payer; other: someone else's; not-ecdsa: a smart wallet's format, for the chain to judge. */
export type Signer = "payer" | "other" | "not-ecdsa";

export async function signerOf(payment: PaymentAttempt, accept: PricedAccept): Promise<Signer> {
  if (size(payment.signature) !== 65) return "not-ecdsa";
  try {
    const typedData = isPermit2(payment) ? permit2TypedData(accept.network, payment) : typedDataFor(accept, payment.authorization);
    const recovered = await recoverTypedDataAddress({ ...typedData, signature: payment.signature } as Parameters<typeof recoverTypedDataAddress>[0]);
    return recovered.toLowerCase() === payment.authorization.from.toLowerCase() ? "payer" : "other";
  } catch {
    return "other";
  }
}

/** ERC-6492 wraps a not-yet-deployed wallet's signature and ends it with this suffix. */
const ERC6492_MAGIC = "6492649264926492649264926492649264926492649264926492649264926492";

/** A not-yet-deployed (counterfactual) wallet's signature, which only a chain or a facilitator can judge. */
export function isCounterfactual(signature: `0x${string}`): boolean {
  return signature.toLowerCase().endsWith(ERC6492_MAGIC);
}
