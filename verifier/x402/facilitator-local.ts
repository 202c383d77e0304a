// The facilitator in-process: verification with viem against our own chain client, and
// settlement with our own key, by EIP-3009 (the token's transferWithAuthorization) or by
// Permit2 (the x402 exact Permit2 proxy's settle). Outcomes are classified by what is known: an error before
// a transaction leaves is a definite failure (or "unavailable" when the chain did not
// answer); anything after it is sent is "unknown". Every call ends by the answer's deadline.
import { encodeFunctionData, type Hex, parseSignature, size } from "viem";
import { type ChainClients, describeError } from "./chain-clients.ts";
import { beforeDeadline, type Deadline, TIMED_OUT } from "../../adapters/deadline.ts";
import { EIP3009_ABI, TRANSFER_BYTES_ABI, TRANSFER_VRS_ABI, typedDataFor } from "./eip3009.ts";
import type { Facilitator, PaymentContext, SettleOutcome, VerifyOutcome } from "./facilitator.ts";
import { isCounterfactual } from "./payment-signature.ts";
import {
  ERC20_ABI, EXACT_PROXY, EXACT_PROXY_ABI, isPermit2, nonceSlot, PERMIT2, PERMIT2_ABI, type Permit2Payment, permit2TypedData, proxySettleArgs, UPTO_PROXY, UPTO_PROXY_ABI,
  uptoSettleArgs,
} from "./permit2.ts";
import { resolveWithChains } from "./settlement-resolver.ts";
import { REASON } from "./reasons.ts";

class OutOfTime extends Error {}

/** The call's result, or OutOfTime thrown once the answer's deadline passes. */
async function inTime<T>(deadline: Deadline, work: Promise<T>): Promise<T> {
  const result = await beforeDeadline(deadline, work);
  if (result === TIMED_OUT) throw new OutOfTime("out of time");
  return result;
}

export function localFacilitator(chains: ChainClients): Facilitator {
  return {
    async verify(context): Promise<VerifyOutcome> {
      const { payment, accept, deadline } = context;
      const c = chains.for(accept.network);
      if (!c) return { kind: "unavailable", message: `no RPC URL configured for ${accept.network.name}` };
      const { authorization: a, signature } = payment;
      const token = accept.asset.address;
      try {
        // A signature that does not name the payer is a smart wallet's (ERC-1271, or ERC-6492
        // before deployment), which only the chain can judge: an RPC failure there must read
        // as "unavailable", never as "invalid".
        if (!context.signedByPayer) {
          const code = await inTime(deadline, c.public.getCode({ address: a.from }));
          const counterfactual = isCounterfactual(signature);
          const typedData = isPermit2(payment) ? permit2TypedData(accept.network, payment) : typedDataFor(accept, a);
          const ok = (code && code !== "0x") || counterfactual
            ? await inTime(deadline, c.public.verifyTypedData({ ...typedData, address: a.from, signature } as Parameters<typeof c.public.verifyTypedData>[0]))
            : false;
          if (!ok) return { kind: "invalid", reason: REASON.signature, message: "the signature does not match the payer" };
        }
        if (isPermit2(payment)) {
          const { word, bit } = nonceSlot(payment.permit2.nonce);
          const [bitmap, balance, allowance] = await inTime(deadline, Promise.all([
            c.public.readContract({ address: PERMIT2, abi: PERMIT2_ABI, functionName: "nonceBitmap", args: [a.from, word] }),
            c.public.readContract({ address: token, abi: ERC20_ABI, functionName: "balanceOf", args: [a.from] }),
            c.public.readContract({ address: token, abi: ERC20_ABI, functionName: "allowance", args: [a.from, PERMIT2] }),
          ]));
          if ((bitmap & bit) !== 0n) return { kind: "invalid", reason: REASON.alreadyUsed, message: "this permit's nonce was already used on chain" };
          if (balance < a.value) return { kind: "invalid", reason: REASON.insufficientFunds, message: "the payer's balance is below the price" };
          if (allowance < a.value) return { kind: "invalid", reason: REASON.permit2Allowance, message: `the payer has not approved Permit2 (${PERMIT2}) to move the price in ${accept.asset.symbol}` };
          return { kind: "valid" };
        }
        const [used, balance] = await inTime(deadline, Promise.all([
          c.public.readContract({ address: token, abi: EIP3009_ABI, functionName: "authorizationState", args: [a.from, a.nonce] }),
          c.public.readContract({ address: token, abi: EIP3009_ABI, functionName: "balanceOf", args: [a.from] }),
        ]));
        if (used) return { kind: "invalid", reason: REASON.alreadyUsed, message: "this authorization was already used on chain" };
        if (balance < a.value) return { kind: "invalid", reason: REASON.insufficientFunds, message: "the payer's balance is below the price" };
        return { kind: "valid" };
      } catch (error) {
        return { kind: "unavailable", message: describeError(error) };
      }
    },

    async settle(context): Promise<SettleOutcome> {
      const { payment, accept, deadline } = context;
      const c = chains.for(accept.network);
      if (!c?.wallet) return { kind: "unavailable", message: "no settlement key configured" };
      if (accept.scheme === "upto" && context.charge === 0n) return { kind: "settled", transaction: "" }; // nothing used: nothing sent
      const request = !isPermit2(payment)
        ? { to: accept.asset.address, data: transferCalldata(payment.authorization, payment.signature) }
        : accept.scheme === "upto"
        ? { to: UPTO_PROXY, data: encodeFunctionData({ abi: UPTO_PROXY_ABI, functionName: "settle", args: uptoSettleArgs(payment, context.charge ?? accept.amount) }) }
        : { to: EXACT_PROXY, data: proxyCalldata(payment) };
      const account = c.wallet.account!;
      try {
        // A simulation that reverts proves nothing was sent: a definite failure. On a retry,
        // a used nonce may be our own earlier transfer landing: that proves nothing.
        await inTime(deadline, c.public.call({ ...request, account }));
      } catch (error) {
        if (error instanceof OutOfTime) return { kind: "unavailable", message: "out of time before sending the settlement" };
        if (context.retry) return { kind: "unknown", message: `the settlement would revert: ${describeError(error)}` };
        return { kind: "failed", reason: REASON.simulationFailed, message: describeError(error) };
      }
      let transaction: Hex | undefined;
      for (let attempt = 1; transaction === undefined; attempt++) {
        try {
          transaction = await inTime(deadline, c.wallet.sendTransaction({ ...request, account, chain: c.chain }));
        } catch (error) {
          // Replicas of a fleet settling from one account race for its transaction nonce. A node
          // refusing ours for its nonce kept it out of the chain for good: send again, on a fresh one.
          if (attempt < MAX_SENDS && !(error instanceof OutOfTime) && refusedForItsNonce(error)) {
            account.nonceManager?.reset({ address: account.address, chainId: c.chain.id });
            // Apart at random, so that replicas that collided do not collide again.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
            continue;
          }
          return { kind: "unknown", message: `sending the settlement failed: ${describeError(error)}` };
        }
      }
      try {
        // A transaction replaced in the mempool resolves with its replacement's receipt: that is not ours to count.
        let replaced = false;
        const receipt = await inTime(deadline, c.public.waitForTransactionReceipt({ hash: transaction, timeout: deadline.remainingMs(), onReplaced: () => void (replaced = true) }));
        if (replaced) return { kind: "unknown", message: `settlement ${transaction} was replaced by ${receipt.transactionHash}`, transaction };
        // Reverted on chain: final for this transaction, but let the resolver decide whether another one used the nonce.
        if (receipt.status === "reverted") return { kind: "unknown", message: `settlement ${transaction} reverted`, transaction };
        return { kind: "settled", transaction };
      } catch (error) {
        return { kind: "unknown", message: `no receipt for ${transaction}: ${describeError(error)}`, transaction };
      }
    },

    async resolve(context) {
      return (await resolveWithChains(chains, context)) ?? { kind: "unknown", message: `no RPC URL configured for ${context.accept.network.name}` };
    },
  };
}

/** Sends of one settlement, when the node refuses a transaction for its nonce (another replica took it). */
const MAX_SENDS = 8;

/**
 * The node said this transaction's nonce is spent or taken by another pending one, so it was not
 * accepted. "already known" is not among them: that is this very transaction, accepted before.
 */
export function refusedForItsNonce(error: unknown): boolean {
  const texts: string[] = [];
  for (let e = error as { message?: string; details?: string; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    texts.push(String(e.message ?? ""), String(e.details ?? ""));
  }
  const text = texts.join("\n");
  if (/already known|already imported/i.test(text)) return false;
  return /nonce too low|lower than the current nonce|replacement transaction underpriced/i.test(text);
}

function proxyCalldata(payment: Permit2Payment): Hex {
  return encodeFunctionData({ abi: EXACT_PROXY_ABI, functionName: "settle", args: proxySettleArgs(payment) });
}

function transferCalldata(a: PaymentContext["payment"]["authorization"], signature: Hex): Hex {
  const base = [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce] as const;
  if (size(signature) === 65) {
    const { r, s, v, yParity } = parseSignature(signature);
    const vByte = Number(v ?? BigInt(yParity + 27));
    return encodeFunctionData({ abi: TRANSFER_VRS_ABI, functionName: "transferWithAuthorization", args: [...base, vByte, r, s] });
  }
  return encodeFunctionData({ abi: TRANSFER_BYTES_ABI, functionName: "transferWithAuthorization", args: [...base, signature] });
}
