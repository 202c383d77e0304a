// Who signed a payment, checked here before any facilitator or RPC call: recovering an
// EIP-712 signature costs a couple of milliseconds of CPU, a facilitator round trip costs
// a socket and a remote's rate limit. A 65-byte signature that does not recover to the
// payer is junk unless the payer is a contract (ERC-1271), which only a chain can tell.
import { recoverTypedDataAddress, size } from "viem";
import { typedDataFor } from "./eip3009.ts";
import type { PaymentAttempt } from "./payment-header.ts";
import type { PricedRoute } from "../routes/priced-route.ts";

/** payer: an EOA signature naming the payer; other: someone else's; not-ecdsa: a smart wallet's format, for the chain to judge. */
export type Signer = "payer" | "other" | "not-ecdsa";

export async function signerOf(payment: PaymentAttempt, route: PricedRoute): Promise<Signer> {
  if (size(payment.signature) !== 65) return "not-ecdsa";
  try {
    const recovered = await recoverTypedDataAddress({ ...typedDataFor(route.network, payment.authorization), signature: payment.signature });
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
