// After an unknown outcome, did the payment land? Asked of the token itself, over an RPC
// the verifier is given. "The nonce is used" is not enough: the buyer may have used the
// same nonce for another authorization (or canceled it), and then the seller was never
// paid. Only a transfer the token logged right after marking this nonce used, in the same
// transaction, moving exactly this value from the payer to the authorization's payee,
// counts as settled. The token's own logs tell, so a node that hides or prunes receipts
// does not matter; every read is pinned to one block, so the answers agree with each other.
import type { Hash, Log, PublicClient } from "viem";
import { type ChainClients, describeError, LOOKBACK_BLOCKS } from "./chain-clients.ts";
import { beforeDeadline, TIMED_OUT } from "../../adapters/deadline.ts";
import { EIP3009_ABI, EIP3009_EVENTS } from "./eip3009.ts";
import type { PaymentContext, Resolution } from "./facilitator.ts";
import { resolvePermit2OnChain } from "./permit2-resolver.ts";
import { isPermit2 } from "./permit2.ts";
import { REASON } from "./reasons.ts";
import { sameAddress } from "../../core/pay-to.ts";


const [AUTHORIZATION_USED, AUTHORIZATION_CANCELED, TRANSFER] = EIP3009_EVENTS;

export async function resolveOnChain(client: PublicClient, { payment, accept }: Pick<PaymentContext, "payment" | "accept">): Promise<Resolution> {
  if (isPermit2(payment)) return resolvePermit2OnChain(client, payment, accept.asset.address, accept.scheme === "upto");
  const { from, to, value, nonce } = payment.authorization;
  const token = accept.asset.address;
  try {
    const head = await client.getBlock({ blockTag: "latest" });
    const blockNumber = head.number;
    const used = await client.readContract({ address: token, abi: EIP3009_ABI, functionName: "authorizationState", args: [from, nonce], blockNumber });
    // Not landed (yet): settling it again is safe, since the token moves money once per
    // nonce; whichever transaction lands first wins, and the next retry finds it here.
    if (!used) return { kind: "not-settled" };
    const range = { address: token, fromBlock: blockNumber > LOOKBACK_BLOCKS ? blockNumber - LOOKBACK_BLOCKS : 0n, toBlock: blockNumber } as const;
    // An RPC is input too: only logs of this token, still on the chain, count.
    const genuine = <L extends Log>(logs: L[]) => logs.filter((l) => !l.removed && l.address.toLowerCase() === token.toLowerCase());
    const [usedLogs, canceled, transfers] = await Promise.all([
      client.getLogs({ ...range, event: AUTHORIZATION_USED, args: { authorizer: from, nonce } }).then(genuine),
      client.getLogs({ ...range, event: AUTHORIZATION_CANCELED, args: { authorizer: from, nonce } }).then(genuine),
      client.getLogs({ ...range, event: TRANSFER, args: { from, to } }).then(genuine),
    ]);
    for (const use of usedLogs) {
      const paid = transfers.find((t) =>
        t.transactionHash === use.transactionHash && t.logIndex === (use.logIndex ?? -2) + 1 &&
        sameAddress(t.args.from!, from) && sameAddress(t.args.to!, to) && t.args.value === value
      );
      if (paid?.transactionHash) return { kind: "settled", transaction: paid.transactionHash as Hash, amount: value };
    }
    // Used by something we can see that is not this transfer: this authorization can never land now.
    if (usedLogs.length > 0 || canceled.length > 0) {
      return { kind: "not-settled", refusal: { reason: REASON.alreadyUsed, message: canceled.length > 0 ? "this authorization was canceled" : "this authorization's nonce was used by another transfer" } };
    }
    return { kind: "unknown", message: `the nonce is used, but not within the last ${LOOKBACK_BLOCKS} blocks` };
  } catch (error) {
    return { kind: "unknown", message: `could not read the chain: ${describeError(error)}` };
  }
}

/** resolveOnChain over the RPC given for the route's network, within the answer's deadline; undefined when there is none. */
export async function resolveWithChains(chains: ChainClients, context: Pick<PaymentContext, "payment" | "accept" | "deadline">): Promise<Resolution | undefined> {
  const c = chains.for(context.accept.network);
  if (!c) return undefined;
  const resolution = await beforeDeadline(context.deadline, resolveOnChain(c.public, context));
  return resolution === TIMED_OUT ? { kind: "unknown", message: "out of time reading the chain" } : resolution;
}
