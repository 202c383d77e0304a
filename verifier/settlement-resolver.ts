// After an unknown outcome, did the payment land? Asked of the token itself, over an RPC
// the verifier is given. "The nonce is used" is not enough: the buyer may have used the
// same nonce for another authorization (or canceled it), and then the seller was never
// paid. Only a transaction that used this nonce and, in the same transaction, moved
// exactly this value from the payer to the seller counts as settled; an authorization
// that is unused once the chain's clock has passed its validBefore will never land. The
// token's own logs answer both, so a node that hides or prunes receipts does not matter.
import { type Hash, isHash, type PublicClient } from "viem";
import { describeError } from "./chain-clients.ts";
import { EIP3009_ABI, EIP3009_EVENTS } from "./eip3009.ts";
import type { PaymentContext, Resolution } from "./facilitator.ts";

/** How far back to look for the transaction that used a nonce (about 5 h on Base, 33 h on Ethereum). */
export const LOOKBACK_BLOCKS = 10_000n;

const [AUTHORIZATION_USED, AUTHORIZATION_CANCELED, TRANSFER] = EIP3009_EVENTS;

export async function resolveOnChain(client: PublicClient, { payment, route }: Pick<PaymentContext, "payment" | "route">, transaction?: string): Promise<Resolution> {
  const { from, to, value, nonce, validBefore } = payment.authorization;
  const token = route.network.asset;
  try {
    const used = await client.readContract({ address: token, abi: EIP3009_ABI, functionName: "authorizationState", args: [from, nonce] });
    if (!used) {
      const known = transaction && isHash(transaction) ? transaction : undefined;
      if (known && (await client.getTransactionReceipt({ hash: known }).catch(() => undefined))?.status === "reverted") return { kind: "not-settled" };
      const head = await client.getBlock({ blockTag: "latest" });
      if (head.timestamp > validBefore) return { kind: "not-settled" };
      return { kind: "unknown", message: "the authorization is not used on chain yet" };
    }
    // Not viem's cached block number: a transaction seconds old would fall outside the range.
    const head = await client.getBlockNumber({ cacheTime: 0 });
    const range = { address: token, fromBlock: head > LOOKBACK_BLOCKS ? head - LOOKBACK_BLOCKS : 0n, toBlock: "latest" } as const;
    const [usedLogs, canceledLogs, transfers] = await Promise.all([
      client.getLogs({ ...range, event: AUTHORIZATION_USED, args: { authorizer: from, nonce } }),
      client.getLogs({ ...range, event: AUTHORIZATION_CANCELED, args: { authorizer: from, nonce } }),
      client.getLogs({ ...range, event: TRANSFER, args: { from, to: route.payTo } }),
    ]);
    const usedIn = new Set<Hash | null>(usedLogs.filter((l) => !l.removed).map((l) => l.transactionHash));
    const paid = transfers.find((t) => !t.removed && usedIn.has(t.transactionHash) && t.args.value === value && to.toLowerCase() === route.payTo.toLowerCase());
    if (paid?.transactionHash) return { kind: "settled", transaction: paid.transactionHash };
    // Used by something we can see that is not this transfer: this authorization can never land now.
    if (usedIn.size > 0 || canceledLogs.length > 0) return { kind: "not-settled" };
    return { kind: "unknown", message: `the nonce is used, but not within the last ${LOOKBACK_BLOCKS} blocks` };
  } catch (error) {
    return { kind: "unknown", message: `could not read the chain: ${describeError(error)}` };
  }
}
