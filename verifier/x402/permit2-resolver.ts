// After an unknown outcome of a Permit2 payment, did it land? Permit2 marks a nonce used
// in its bitmap and logs nothing for it; the proxy logs a bare Settled(). So: a nonce not
// marked has not landed (settling again is safe: Permit2 spends a nonce once). A marked one
// counts as settled only for a transfer the token logged, of exactly this amount from the
// payer to the payee, in a transaction that called the exact proxy's settle with this very
// permit (owner, token, amount, nonce, payee). Canceled by the owner (Permit2's
// UnorderedNonceInvalidation covering the bit), it never can land. Every read is pinned to
// one block, and only logs of the expected contracts, still on the chain, count.
import { decodeFunctionData, type Hash, type Log, type PublicClient } from "viem";
import { sameAddress } from "../../core/pay-to.ts";
import { describeError, LOOKBACK_BLOCKS } from "./chain-clients.ts";
import { EIP3009_EVENTS } from "./eip3009.ts";
import type { Resolution } from "./facilitator.ts";
import { EXACT_PROXY, EXACT_PROXY_ABI, nonceSlot, PERMIT2, PERMIT2_ABI, type Permit2Payment, UPTO_PROXY, UPTO_PROXY_ABI } from "./permit2.ts";
import { REASON } from "./reasons.ts";

const TRANSFER = EIP3009_EVENTS[2];
const INVALIDATION = PERMIT2_ABI[1];

/** `metered`: an upto permit, settled by the upto proxy for any amount up to its own. */
export async function resolvePermit2OnChain(client: PublicClient, payment: Permit2Payment, token: `0x${string}`, metered = false): Promise<Resolution> {
  const { from, to, value } = payment.authorization;
  const { nonce } = payment.permit2;
  const { word, bit } = nonceSlot(nonce);
  try {
    const head = await client.getBlock({ blockTag: "latest" });
    const blockNumber = head.number;
    const bitmap = await client.readContract({ address: PERMIT2, abi: PERMIT2_ABI, functionName: "nonceBitmap", args: [from, word], blockNumber });
    if ((bitmap & bit) === 0n) return { kind: "not-settled" };
    const range = { fromBlock: blockNumber > LOOKBACK_BLOCKS ? blockNumber - LOOKBACK_BLOCKS : 0n, toBlock: blockNumber } as const;
    const genuine = (address: string) => <L extends Log>(logs: L[]) => logs.filter((l) => !l.removed && sameAddress(l.address, address));
    const [transfers, invalidations] = await Promise.all([
      client.getLogs({ ...range, address: token, event: TRANSFER, args: { from, to } }).then(genuine(token)),
      client.getLogs({ ...range, address: PERMIT2, event: INVALIDATION, args: { owner: from } }).then(genuine(PERMIT2)),
    ]);
    for (const transfer of transfers) {
      const moved = transfer.args.value;
      if (moved === undefined || (metered ? moved > value : moved !== value) || !transfer.transactionHash) continue;
      const transaction = await client.getTransaction({ hash: transfer.transactionHash });
      if (!transaction.to || !sameAddress(transaction.to, metered ? UPTO_PROXY : EXACT_PROXY)) continue;
      if (settlesThisPermit(transaction.input, payment, token, metered ? moved : undefined)) return { kind: "settled", transaction: transfer.transactionHash as Hash, amount: moved };
    }
    if (invalidations.some((l) => l.args.word === word && ((l.args.mask ?? 0n) & bit) !== 0n)) {
      return { kind: "not-settled", refusal: { reason: REASON.alreadyUsed, message: "this permit's nonce was canceled by its owner" } };
    }
    return { kind: "unknown", message: `the permit's nonce is used, but no settlement of it is found within the last ${LOOKBACK_BLOCKS} blocks` };
  } catch (error) {
    return { kind: "unknown", message: `could not read the chain: ${describeError(error)}` };
  }
}

/** Whether `input` calls the proxy's settle with this very permit (and, for upto, settles `moved`). */
function settlesThisPermit(input: `0x${string}`, payment: Permit2Payment, token: string, moved?: bigint): boolean {
  const a = payment.authorization;
  const samePermit = (permit: { permitted: { token: string; amount: bigint }; nonce: bigint }, owner: string, to: string) =>
    sameAddress(owner, a.from) && sameAddress(permit.permitted.token, token) && permit.permitted.amount === a.value && permit.nonce === payment.permit2.nonce && sameAddress(to, a.to);
  try {
    if (moved !== undefined) {
      const { args } = decodeFunctionData({ abi: UPTO_PROXY_ABI, data: input });
      const [permit, amount, owner, witness] = args;
      return amount === moved && samePermit(permit, owner, witness.to);
    }
    const { args } = decodeFunctionData({ abi: EXACT_PROXY_ABI, data: input });
    const [permit, owner, witness] = args;
    return samePermit(permit, owner, witness.to);
  } catch {
    return false;
  }
}
