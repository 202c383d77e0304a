// Our own Permit2 and x402 exact Permit2 proxy on the local chain, at their canonical
// addresses, with the official packages on both sides: the @x402/evm exact client signs a
// Permit2 payment for an 18-decimal token without EIP-3009 (like OBOL), and the official
// facilitator verifies and settles it through our contracts. Balances say what moved. The
// ground for paying in assets other than USDC (issue 13).
import { x402Client } from "@x402/core/client";
import { x402Facilitator } from "@x402/core/facilitator";
import type { PaymentRequired, PaymentRequirements } from "@x402/core/types";
import { toFacilitatorEvmSigner, x402ExactPermit2ProxyABI } from "@x402/evm";
import { registerExactEvmScheme as registerClient } from "@x402/evm/exact/client";
import { registerExactEvmScheme as registerFacilitator } from "@x402/evm/exact/facilitator";
import { createPublicClient, createWalletClient, erc20Abi, http, maxUint256, parseAbi, publicActions } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, EXACT_PERMIT2_PROXY_ADDRESS, OBOL_ADDRESS, PERMIT2_ADDRESS, startChain } from "../../dev/chain/chain.ts";

let chain: Chain;
const NETWORK = "eip155:84532";
const ONE_MILLI_OBOL = 10n ** 15n;

beforeAll(async () => {
  chain = await startChain();
}, 120_000);
afterAll(async () => await chain?.stop());

function parties() {
  const transport = http(chain.rpcUrl);
  const facilitatorAccount = privateKeyToAccount(chain.accounts[0]!.privateKey);
  const facilitatorClient = createWalletClient({ account: facilitatorAccount, chain: chain.viemChain, transport }).extend(publicActions);
  const facilitator = new x402Facilitator();
  const signer = toFacilitatorEvmSigner({ ...facilitatorClient, address: facilitatorAccount.address } as unknown as Parameters<typeof toFacilitatorEvmSigner>[0]);
  registerFacilitator(facilitator, { signer, networks: NETWORK });
  const reader = createPublicClient({ chain: chain.viemChain, transport });
  const balance = (address: `0x${string}`) => reader.readContract({ address: OBOL_ADDRESS, abi: erc20Abi, functionName: "balanceOf", args: [address] });
  return { facilitator, reader, balance };
}

function buyer(index: number) {
  const account = privateKeyToAccount(chain.accounts[index]!.privateKey);
  const client = new x402Client();
  registerClient(client, { signer: account });
  // The official client pays only assets it knows unless told: our local token is one it does not.
  client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: OBOL_ADDRESS }] });
  const approvePermit2 = async () => {
    const wallet = createWalletClient({ account, chain: chain.viemChain, transport: http(chain.rpcUrl) }).extend(publicActions);
    const hash = await wallet.writeContract({ address: OBOL_ADDRESS, abi: erc20Abi, functionName: "approve", args: [PERMIT2_ADDRESS, maxUint256] });
    expect((await wallet.waitForTransactionReceipt({ hash })).status).toBe("success");
  };
  return { account, client, approvePermit2 };
}

/** Permit2's errors, so that a revert from inside it is read by name. */
const PERMIT2_ERRORS = parseAbi(["error InvalidSigner()", "error InvalidNonce()", "error SignatureExpired(uint256)", "error InvalidAmount(uint256)"]);

const requirements = (payTo: `0x${string}`, amount: bigint): PaymentRequirements => ({
  scheme: "exact", network: NETWORK, asset: OBOL_ADDRESS, amount: amount.toString(), payTo, maxTimeoutSeconds: 300,
  extra: { assetTransferMethod: "permit2" },
});
const required = (accepts: PaymentRequirements): PaymentRequired => ({
  x402Version: 2, resource: { url: "https://api.example.com/services/obol/v1/chat", description: "priced in OBOL", mimeType: "application/json" }, accepts: [accepts],
});

describe("Permit2 on the local chain, with the official x402 client and facilitator", () => {
  it("pays 0.001 OBOL (18 decimals) through our Permit2 and exact proxy: verified, settled, and the balances moved by exactly that", async () => {
    const { facilitator, balance } = parties();
    const { account, client, approvePermit2 } = buyer(4);
    const payTo = chain.accounts[9]!.address;
    await approvePermit2();
    const accepts = requirements(payTo, ONE_MILLI_OBOL);
    const payload = await client.createPaymentPayload(required(accepts));
    expect(payload.payload).toMatchObject({ permit2Authorization: { spender: EXACT_PERMIT2_PROXY_ADDRESS, permitted: { token: OBOL_ADDRESS, amount: ONE_MILLI_OBOL.toString() } } });
    const [sellerBefore, buyerBefore] = await Promise.all([balance(payTo), balance(account.address)]);

    expect(await facilitator.verify(payload, accepts)).toMatchObject({ isValid: true });
    const settled = await facilitator.settle(payload, accepts);
    expect(settled).toMatchObject({ success: true, transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect(await balance(payTo)).toBe(sellerBefore + ONE_MILLI_OBOL);
    expect(await balance(account.address)).toBe(buyerBefore - ONE_MILLI_OBOL);

    // The same authorization again: Permit2's nonce is spent, nothing moves twice.
    expect(await facilitator.verify(payload, accepts)).toMatchObject({ isValid: false, invalidReason: "permit2_simulation_failed" });
    expect(await balance(payTo)).toBe(sellerBefore + ONE_MILLI_OBOL);
  });

  it("refuses what our contracts refuse: no Permit2 allowance, another recipient, a signature for another amount", async () => {
    const { facilitator, balance } = parties();
    const payTo = chain.accounts[9]!.address;
    const before = await balance(payTo);

    const unapproved = buyer(5); // never approved Permit2
    const accepts = requirements(payTo, ONE_MILLI_OBOL);
    const noAllowance = await facilitator.verify(await unapproved.client.createPaymentPayload(required(accepts)), accepts);
    expect(noAllowance).toMatchObject({ isValid: false, invalidReason: "permit2_allowance_required" });

    const approved = buyer(6);
    await approved.approvePermit2();
    const payload = await approved.client.createPaymentPayload(required(accepts));
    expect(await facilitator.verify(payload, { ...accepts, payTo: chain.accounts[8]!.address })).toMatchObject({ isValid: false, invalidReason: "invalid_permit2_recipient_mismatch" });
    // A payload whose amount was raised after signing: Permit2 recovers another signer and reverts.
    const raised = structuredClone(payload) as typeof payload & { payload: { permit2Authorization: { permitted: { amount: string } } } };
    raised.payload.permit2Authorization.permitted.amount = (ONE_MILLI_OBOL * 2n).toString();
    expect(await facilitator.verify(raised, { ...accepts, amount: (ONE_MILLI_OBOL * 2n).toString() })).toMatchObject({ isValid: false, invalidReason: "invalid_permit2_signature" });
    expect(await balance(payTo)).toBe(before);
  });

  it("refuses a cheating caller on chain, without the facilitator's checks: a raised amount, another recipient, a replay", async () => {
    const { reader, balance } = parties();
    const payTo = chain.accounts[9]!.address;
    const { account, client, approvePermit2 } = buyer(7);
    await approvePermit2();
    const payload = await client.createPaymentPayload(required(requirements(payTo, ONE_MILLI_OBOL)));
    const a = (payload.payload as { permit2Authorization: { from: `0x${string}`; permitted: { token: `0x${string}`; amount: string }; nonce: string; deadline: string; witness: { to: `0x${string}`; validAfter: string } } }).permit2Authorization;
    const signature = (payload.payload as { signature: `0x${string}` }).signature;
    const caller = createWalletClient({ account: privateKeyToAccount(chain.accounts[1]!.privateKey), chain: chain.viemChain, transport: http(chain.rpcUrl) });
    const settle = (amount: bigint, to: `0x${string}`) =>
      caller.writeContract({
        address: EXACT_PERMIT2_PROXY_ADDRESS, abi: [...x402ExactPermit2ProxyABI, ...PERMIT2_ERRORS], functionName: "settle",
        args: [{ permitted: { token: a.permitted.token, amount }, nonce: BigInt(a.nonce), deadline: BigInt(a.deadline) }, a.from, { to, validAfter: BigInt(a.witness.validAfter) }, signature],
      });
    const [sellerBefore, buyerBefore] = await Promise.all([balance(payTo), balance(account.address)]);
    await expect(settle(ONE_MILLI_OBOL * 1000n, payTo)).rejects.toThrow(/InvalidSigner/);
    await expect(settle(ONE_MILLI_OBOL, chain.accounts[1]!.address)).rejects.toThrow(/InvalidSigner/);
    const hash = await settle(ONE_MILLI_OBOL, payTo); // anyone may submit the buyer's own terms: they pay the seller
    expect((await reader.waitForTransactionReceipt({ hash })).status).toBe("success");
    await expect(settle(ONE_MILLI_OBOL, payTo)).rejects.toThrow(/InvalidNonce/);
    expect(await balance(payTo)).toBe(sellerBefore + ONE_MILLI_OBOL);
    expect(await balance(account.address)).toBe(buyerBefore - ONE_MILLI_OBOL);
  });
});
