// The in-process facilitator paying an 18-decimal token through Permit2 on a real chain
// (Hardhat with our Permit2 and x402 exact Permit2 proxy at their canonical addresses and
// an OBOL-like token without EIP-3009), checked by balances. And the settlement resolver
// after an unknown outcome: settled only for this very permit's transfer; a nonce the owner
// canceled can never land; one spent by another permit is never counted as this payment.
import { createPublicClient, createWalletClient, erc20Abi, http, maxUint256, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, PERMIT2_ADDRESS, startChain } from "../../dev/chain/chain.ts";
import { deadlineAfter } from "../../adapters/deadline.ts";
import { chainClients } from "./chain-clients.ts";
import { localFacilitator } from "./facilitator-local.ts";
import type { PaymentContext } from "./facilitator.ts";
import { decodePaymentHeader } from "./payment-header.ts";
import { EXACT_PROXY, EXACT_PROXY_ABI, PERMIT2_ABI, proxySettleArgs, type Permit2Payment } from "./permit2.ts";
import { resolveOnChain } from "./settlement-resolver.ts";
import { OBOL_ASSET, pricedRoute, signedPermit2Payment } from "../test-support.ts";

describe("localFacilitator paying through Permit2", () => {
  let chain: Chain;
  let reader: PublicClient;
  let nonce = 1000;
  const seller = () => chain.accounts[9]!.address;
  const route = () => pricedRoute({ price: "0.001", payTo: seller(), asset: OBOL_ASSET });
  const balance = (address: `0x${string}`) => reader.readContract({ address: chain.obol.address, abi: erc20Abi, functionName: "balanceOf", args: [address] });
  const wallet = (index: number) => createWalletClient({ chain: chain.viemChain, transport: http(chain.rpcUrl), account: privateKeyToAccount(chain.accounts[index]!.privateKey) });
  const facilitator = () => localFacilitator(chainClients({ rpcUrls: { "base-sepolia": chain.rpcUrl }, settlementAccount: privateKeyToAccount(chain.accounts[0]!.privateKey) }));

  beforeAll(async () => {
    chain = await startChain();
    reader = createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }) as PublicClient;
    // Buyers 2 and 3 approve Permit2 once, as the official client's users must; buyer 4 does not.
    for (const index of [2, 3]) {
      const hash = await wallet(index).writeContract({ address: chain.obol.address, abi: erc20Abi, functionName: "approve", args: [PERMIT2_ADDRESS, maxUint256] });
      await reader.waitForTransactionReceipt({ hash });
    }
  }, 120_000);
  afterAll(async () => await chain?.stop(), 30_000);

  async function context(buyerIndex: number, overrides: Record<string, string> = {}): Promise<PaymentContext> {
    const buyer = privateKeyToAccount(chain.accounts[buyerIndex]!.privateKey);
    const r = route();
    const now = (await reader.getBlock()).timestamp;
    const header = await signedPermit2Payment(r, { from: buyer.address, nonce: String(nonce++), deadline: String(now + 300n), ...overrides }, { signer: buyer });
    const decoded = decodePaymentHeader(header, 2);
    if (!decoded.ok) throw new Error(decoded.reason);
    return { payment: decoded.payment, route: r, accept: r.accepts[0]!, resource: "https://shop.example/x", deadline: deadlineAfter(20_000), signedByPayer: true };
  }

  it("verifies, settles 0.001 OBOL (10^15 atomic units) to the seller, and then refuses the spent permit", { timeout: 60_000 }, async () => {
    const f = facilitator();
    const paying = await context(2);
    const [buyerBefore, sellerBefore] = [await balance(paying.payment.authorization.from), await balance(seller())];
    expect(await f.verify(paying)).toEqual({ kind: "valid" });
    const settled = await f.settle(paying);
    expect(settled.kind).toBe("settled");
    expect(await balance(seller())).toBe(sellerBefore + 10n ** 15n);
    expect(await balance(paying.payment.authorization.from)).toBe(buyerBefore - 10n ** 15n);
    expect(await f.verify(paying)).toMatchObject({ kind: "invalid", reason: "payment_already_used" });
    expect(await f.settle(paying)).toMatchObject({ kind: "failed" });
    expect(await resolveOnChain(reader, paying)).toEqual({ kind: "settled", transaction: (settled as { transaction: string }).transaction, amount: 10n ** 15n });
    expect(await balance(seller())).toBe(sellerBefore + 10n ** 15n);
  });

  it("refuses a buyer who has not approved Permit2, before sending anything", { timeout: 30_000 }, async () => {
    const f = facilitator();
    const paying = await context(4);
    expect(await f.verify(paying)).toMatchObject({ kind: "invalid", reason: "permit2_allowance_required" });
    expect(await f.settle(paying)).toMatchObject({ kind: "failed" });
  });

  it("resolves a permit that has not landed as not settled, so it may be settled afresh", { timeout: 30_000 }, async () => {
    expect(await resolveOnChain(reader, await context(3))).toEqual({ kind: "not-settled" });
  });

  it("resolves a permit whose nonce its owner canceled as never able to land", { timeout: 30_000 }, async () => {
    const paying = await context(3);
    const n = (paying.payment as Permit2Payment).permit2.nonce;
    const hash = await wallet(3).writeContract({ address: PERMIT2_ADDRESS, abi: [...PERMIT2_ABI, INVALIDATE], functionName: "invalidateUnorderedNonces", args: [n >> 8n, 1n << (n & 0xffn)] });
    await reader.waitForTransactionReceipt({ hash });
    expect(await resolveOnChain(reader, paying)).toMatchObject({ kind: "not-settled", refusal: { reason: "payment_already_used" } });
    expect(await facilitator().verify(paying)).toMatchObject({ kind: "invalid", reason: "payment_already_used" });
  });

  it("never counts another permit spending the same nonce (the buyer paying someone else), nor an earlier payment of the same amount, as this payment", { timeout: 30_000 }, async () => {
    // An honest earlier payment: the same buyer, payee and amount, another nonce.
    expect((await facilitator().settle(await context(3))).kind).toBe("settled");
    const ours = await context(3, { nonce: "424242" });
    // The buyer signs the same nonce to pay itself, and a facilitator of its own settles that first.
    const other = await context(3, { nonce: "424242", to: chain.accounts[3]!.address });
    const hash = await wallet(5).writeContract({ address: EXACT_PROXY, abi: EXACT_PROXY_ABI, functionName: "settle", args: proxySettleArgs(other.payment as Permit2Payment) });
    expect((await reader.waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(await resolveOnChain(reader, ours)).toMatchObject({ kind: "unknown" });
  });
});

const INVALIDATE = {
  type: "function", name: "invalidateUnorderedNonces", stateMutability: "nonpayable", outputs: [],
  inputs: [{ name: "wordPos", type: "uint256" }, { name: "mask", type: "uint256" }],
} as const;
