// The facilitator in-process: verification with viem against our own chain client, and
// settlement with our own key. Outcomes are classified by what is known: an error before
// a transaction leaves is a definite failure; anything after it is sent is "unknown".
import {
  type Account, type Chain, createPublicClient, createWalletClient, defineChain, encodeFunctionData, type Hex, http, parseSignature,
  type PublicClient, recoverTypedDataAddress, size, type WalletClient,
} from "viem";
import type { Network } from "../core/networks.ts";
import { EIP3009_ABI, TRANSFER_BYTES_ABI, TRANSFER_VRS_ABI, typedDataFor } from "./eip3009.ts";
import type { Facilitator, PaymentContext, Resolution, SettleOutcome, VerifyOutcome } from "./facilitator.ts";

export type LocalFacilitatorOptions = {
  /** RPC URL per network name. */
  rpcUrls: Record<string, string>;
  /** Pays gas for settlement; absent in verify-only mode. */
  settlementAccount?: Account;
  receiptTimeoutMs?: number;
  rpcTimeoutMs?: number;
};

/** ERC-6492 wraps a not-yet-deployed wallet's signature and ends it with this suffix. */
const ERC6492_MAGIC = "6492649264926492649264926492649264926492649264926492649264926492";

type NetworkClients = { public: PublicClient; wallet?: WalletClient; chain: Chain };

export function localFacilitator(options: LocalFacilitatorOptions): Facilitator {
  const clients = new Map<string, NetworkClients>();
  const clientsFor = (network: Network): NetworkClients | undefined => {
    const url = options.rpcUrls[network.name];
    if (!url) return undefined;
    let entry = clients.get(network.name);
    if (!entry) {
      const chain = defineChain({ id: network.chainId, name: network.name, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [url] } } });
      const transport = http(url, { timeout: options.rpcTimeoutMs ?? 10_000, retryCount: 0, batch: true });
      entry = {
        chain,
        public: createPublicClient({ chain, transport }) as PublicClient,
        wallet: options.settlementAccount ? createWalletClient({ chain, transport, account: options.settlementAccount }) : undefined,
      };
      clients.set(network.name, entry);
    }
    return entry;
  };

  return {
    async verify({ payment, route }): Promise<VerifyOutcome> {
      const c = clientsFor(route.network);
      if (!c) return { kind: "unavailable", message: `no RPC URL configured for ${route.network.name}` };
      const { authorization: a, signature } = payment;
      const typedData = typedDataFor(route.network, a);
      try {
        // An EOA's signature is checked locally. Anything else is a smart wallet's (ERC-1271,
        // or ERC-6492 before deployment), which only the chain can judge: an RPC failure
        // there must read as "unavailable", never as "invalid".
        const recovered = size(signature) === 65 ? await recoverTypedDataAddress({ ...typedData, signature }).catch(() => undefined) : undefined;
        if (recovered?.toLowerCase() !== a.from.toLowerCase()) {
          const code = await c.public.getCode({ address: a.from });
          const counterfactual = signature.toLowerCase().endsWith(ERC6492_MAGIC);
          const ok = (code && code !== "0x") || counterfactual ? await c.public.verifyTypedData({ ...typedData, address: a.from, signature }) : false;
          if (!ok) return { kind: "invalid", reason: "invalid_exact_evm_payload_signature", message: "the signature does not match the payer" };
        }
        const [used, balance] = await Promise.all([
          c.public.readContract({ address: route.network.asset, abi: EIP3009_ABI, functionName: "authorizationState", args: [a.from, a.nonce] }),
          c.public.readContract({ address: route.network.asset, abi: EIP3009_ABI, functionName: "balanceOf", args: [a.from] }),
        ]);
        if (used) return { kind: "invalid", reason: "payment_already_used", message: "this authorization was already used on chain" };
        if (balance < a.value) return { kind: "invalid", reason: "insufficient_funds", message: "the payer's balance is below the price" };
        return { kind: "valid", payer: a.from };
      } catch (error) {
        return { kind: "unavailable", message: describe(error) };
      }
    },

    async settle(context: PaymentContext): Promise<SettleOutcome> {
      const { payment, route } = context;
      const c = clientsFor(route.network);
      if (!c?.wallet) return { kind: "failed", reason: "settlement_unavailable", message: "no settlement key configured" };
      const request = { to: route.network.asset, data: transferCalldata(payment.authorization, payment.signature) };
      const account = c.wallet.account!;
      try {
        // A simulation that reverts proves nothing was sent: a definite failure.
        await c.public.call({ ...request, account });
      } catch (error) {
        return { kind: "failed", reason: "invalid_transaction_state", message: describe(error) };
      }
      let transaction: Hex;
      try {
        transaction = await c.wallet.sendTransaction({ ...request, account, chain: c.chain });
      } catch (error) {
        return { kind: "unknown", message: `sending the settlement failed: ${describe(error)}` };
      }
      try {
        const receipt = await c.public.waitForTransactionReceipt({ hash: transaction, timeout: options.receiptTimeoutMs ?? 30_000 });
        if (receipt.status === "reverted") return { kind: "failed", reason: "invalid_transaction_state", message: `settlement ${transaction} reverted` };
        return { kind: "settled", transaction, payer: payment.authorization.from };
      } catch (error) {
        return { kind: "unknown", message: `no receipt for ${transaction}: ${describe(error)}`, transaction };
      }
    },

    async resolve({ payment, route }, transaction): Promise<Resolution> {
      const c = clientsFor(route.network);
      if (!c) return { kind: "unknown" };
      const { from, nonce } = payment.authorization;
      try {
        // A used nonce means the transfer happened, whoever submitted it: the seller was paid.
        const used = await c.public.readContract({ address: route.network.asset, abi: EIP3009_ABI, functionName: "authorizationState", args: [from, nonce] });
        if (used) return { kind: "settled", transaction };
        if (!transaction) return { kind: "unknown" };
        const receipt = await c.public.getTransactionReceipt({ hash: transaction as Hex }).catch(() => undefined);
        return receipt?.status === "reverted" ? { kind: "not-settled" } : { kind: "unknown" };
      } catch {
        return { kind: "unknown" };
      }
    },
  };
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

function describe(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string };
  return (e.shortMessage ?? e.message ?? String(error)).split("\n")[0]!;
}
