// After an unknown outcome, did the payment land? Asked of the token itself, over an RPC
// the verifier is given. "The nonce is used" is not enough: the buyer may have used the
// same nonce for another authorization (or canceled it), and then the seller was never
// paid. Only a successful transaction that used this nonce and moved exactly this value
// from the payer to the seller counts as settled; an authorization that is unused once the
// chain's clock has passed its validBefore will never land.
import { type Hash, isHash, parseEventLogs, type PublicClient, type TransactionReceipt } from "viem";
import { describeError } from "./chain-clients.ts";
import { EIP3009_ABI, EIP3009_EVENTS } from "./eip3009.ts";
import type { PaymentContext, Resolution } from "./facilitator.ts";

/** How far back to look for the transaction that used a nonce (about 5 h on Base, 33 h on Ethereum). */
export const LOOKBACK_BLOCKS = 10_000n;

export async function resolveOnChain(client: PublicClient, { payment, route }: Pick<PaymentContext, "payment" | "route">, transaction?: string): Promise<Resolution> {
  const { from, nonce, validBefore } = payment.authorization;
  const token = route.network.asset;
  const known = transaction && isHash(transaction) ? transaction : undefined;
  try {
    const used = await client.readContract({ address: token, abi: EIP3009_ABI, functionName: "authorizationState", args: [from, nonce] });
    if (!used) {
      if (known && (await receiptOf(client, known))?.status === "reverted") return { kind: "not-settled" };
      const head = await client.getBlock({ blockTag: "latest" });
      if (head.timestamp > validBefore) return { kind: "not-settled" };
      return { kind: "unknown", message: "the authorization is not used on chain yet" };
    }
    const candidates = new Set<Hash>(known ? [known] : []);
    const latest = await client.getBlockNumber();
    const fromBlock = latest > LOOKBACK_BLOCKS ? latest - LOOKBACK_BLOCKS : 0n;
    const logs = (await Promise.all([EIP3009_EVENTS[0], EIP3009_EVENTS[1]].map((event) =>
      client.getLogs({ address: token, event, args: { authorizer: from, nonce }, fromBlock, toBlock: latest })
    ))).flat();
    for (const log of logs) if (log.transactionHash) candidates.add(log.transactionHash);
    for (const hash of candidates) {
      const receipt = await receiptOf(client, hash);
      if (receipt?.status === "success" && paysSeller(receipt, { payment, route })) return { kind: "settled", transaction: hash };
    }
    // Used by something we can see that is not this transfer: this authorization can never land now.
    if (logs.length > 0) return { kind: "not-settled" };
    return { kind: "unknown", message: "the nonce is used, but the transaction that used it was not found" };
  } catch (error) {
    return { kind: "unknown", message: `could not read the chain: ${describeError(error)}` };
  }
}

function receiptOf(client: PublicClient, hash: Hash): Promise<TransactionReceipt | undefined> {
  return client.getTransactionReceipt({ hash }).catch(() => undefined);
}

function paysSeller(receipt: TransactionReceipt, { payment, route }: Pick<PaymentContext, "payment" | "route">): boolean {
  const { from, to, value, nonce } = payment.authorization;
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const logs = parseEventLogs({ abi: EIP3009_EVENTS, logs: receipt.logs.filter((l) => same(l.address, route.network.asset)) });
  const usedHere = logs.some((l) => l.eventName === "AuthorizationUsed" && same(l.args.authorizer, from) && same(l.args.nonce, nonce));
  const transferred = logs.some((l) => l.eventName === "Transfer" && same(l.args.from, from) && same(l.args.to, to) && l.args.value === value && same(to, route.payTo));
  return usedHere && transferred;
}
