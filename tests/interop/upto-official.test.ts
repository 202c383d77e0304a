// Our own x402 upto Permit2 proxy on the local chain, at its canonical address, with the
// official packages on both sides: the @x402/evm upto client signs a Permit2 permit for a
// maximum of an 18-decimal token (like OBOL), and the official upto facilitator verifies it
// and settles what was used: less than the maximum, nothing at all, never more. Balances are
// the proof. The ground for metered payments (issue 12).
import { x402Client } from "@x402/core/client";
import { x402Facilitator } from "@x402/core/facilitator";
import type { PaymentRequired, PaymentRequirements } from "@x402/core/types";
import { toFacilitatorEvmSigner, x402UptoPermit2ProxyABI } from "@x402/evm";
import { UptoEvmScheme as UptoClient } from "@x402/evm/upto/client";
import { UptoEvmScheme as UptoFacilitator } from "@x402/evm/upto/facilitator";
import { createPublicClient, createWalletClient, erc20Abi, http, maxUint256, publicActions } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, OBOL_ADDRESS, PERMIT2_ADDRESS, startChain, UPTO_PERMIT2_PROXY_ADDRESS } from "../../dev/chain/chain.ts";

let chain: Chain;
const NETWORK = "eip155:84532";
const MAX = 10n ** 16n; // 0.01 OBOL authorized

beforeAll(async () => {
  chain = await startChain();
}, 120_000);
afterAll(async () => await chain?.stop());

function facilitatorOf(index: number) {
  const transport = http(chain.rpcUrl);
  const account = privateKeyToAccount(chain.accounts[index]!.privateKey);
  const client = createWalletClient({ account, chain: chain.viemChain, transport }).extend(publicActions);
  const signer = toFacilitatorEvmSigner({ ...client, address: account.address } as unknown as Parameters<typeof toFacilitatorEvmSigner>[0]);
  const facilitator = new x402Facilitator();
  facilitator.register(NETWORK, new UptoFacilitator(signer));
  return { facilitator, address: account.address };
}

const reader = () => createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) });
const balance = (address: `0x${string}`) => reader().readContract({ address: OBOL_ADDRESS, abi: erc20Abi, functionName: "balanceOf", args: [address] });

async function buyer(index: number) {
  const account = privateKeyToAccount(chain.accounts[index]!.privateKey);
  const wallet = createWalletClient({ account, chain: chain.viemChain, transport: http(chain.rpcUrl) }).extend(publicActions);
  const hash = await wallet.writeContract({ address: OBOL_ADDRESS, abi: erc20Abi, functionName: "approve", args: [PERMIT2_ADDRESS, maxUint256] });
  expect((await wallet.waitForTransactionReceipt({ hash })).status).toBe("success");
  const client = new x402Client();
  client.register(NETWORK, new UptoClient(account));
  client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: OBOL_ADDRESS }] });
  return { account, client };
}

const requirements = (payTo: `0x${string}`, facilitatorAddress: `0x${string}`): PaymentRequirements => ({
  scheme: "upto", network: NETWORK, asset: OBOL_ADDRESS, amount: MAX.toString(), payTo, maxTimeoutSeconds: 300,
  extra: { facilitatorAddress },
});
const required = (accepts: PaymentRequirements): PaymentRequired => ({
  x402Version: 2, resource: { url: "https://api.example.com/services/llm/v1/chat/completions", description: "metered", mimeType: "application/json" }, accepts: [accepts],
});

describe("the upto Permit2 proxy on the local chain, with the official upto client and facilitator", () => {
  it("settles what was used, below the authorized maximum, and the balances move by exactly that", async () => {
    const { facilitator, address } = facilitatorOf(0);
    const { account, client } = await buyer(2);
    const payTo = chain.accounts[9]!.address;
    const accepts = requirements(payTo, address);
    const payload = await client.createPaymentPayload(required(accepts));
    expect(payload.payload).toMatchObject({ permit2Authorization: { spender: UPTO_PERMIT2_PROXY_ADDRESS, permitted: { token: OBOL_ADDRESS, amount: MAX.toString() }, witness: { to: payTo, facilitator: address } } });
    expect(await facilitator.verify(payload, accepts)).toMatchObject({ isValid: true });
    const used = 1234567890123n;
    const [sellerBefore, buyerBefore] = await Promise.all([balance(payTo), balance(account.address)]);
    const settled = await facilitator.settle(payload, { ...accepts, amount: used.toString() });
    expect(settled).toMatchObject({ success: true, transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect(await balance(payTo)).toBe(sellerBefore + used);
    expect(await balance(account.address)).toBe(buyerBefore - used);
    // The permit's nonce is spent: nothing more can be taken with it, even within the maximum.
    expect(await facilitator.settle(payload, { ...accepts, amount: "1" })).toMatchObject({ success: false });
    expect(await balance(account.address)).toBe(buyerBefore - used);
  });

  it("settles nothing, and sends nothing, for zero usage; refuses more than the maximum", async () => {
    const { facilitator, address } = facilitatorOf(0);
    const { account, client } = await buyer(3);
    const accepts = requirements(chain.accounts[9]!.address, address);
    const before = await balance(account.address);
    const zero = await facilitator.settle(await client.createPaymentPayload(required(accepts)), { ...accepts, amount: "0" });
    expect(zero).toMatchObject({ success: true, transaction: "" });
    const over = await facilitator.settle(await client.createPaymentPayload(required(accepts)), { ...accepts, amount: (MAX + 1n).toString() });
    expect(over).toMatchObject({ success: false });
    expect(await balance(account.address)).toBe(before);
  });

  it("refuses on chain a caller that is not the facilitator the buyer named, and an amount above the permit", async () => {
    const { address } = facilitatorOf(0);
    const { account, client } = await buyer(4);
    const payTo = chain.accounts[9]!.address;
    const payload = await client.createPaymentPayload(required(requirements(payTo, address)));
    const a = (payload.payload as { permit2Authorization: { from: `0x${string}`; permitted: { token: `0x${string}`; amount: string }; nonce: string; deadline: string; witness: { to: `0x${string}`; facilitator: `0x${string}`; validAfter: string } } }).permit2Authorization;
    const signature = (payload.payload as { signature: `0x${string}` }).signature;
    const settleAs = (index: number, amount: bigint) =>
      createWalletClient({ account: privateKeyToAccount(chain.accounts[index]!.privateKey), chain: chain.viemChain, transport: http(chain.rpcUrl) }).writeContract({
        address: UPTO_PERMIT2_PROXY_ADDRESS, abi: x402UptoPermit2ProxyABI, functionName: "settle",
        args: [{ permitted: { token: a.permitted.token, amount: BigInt(a.permitted.amount) }, nonce: BigInt(a.nonce), deadline: BigInt(a.deadline) }, amount, a.from, { to: a.witness.to, facilitator: a.witness.facilitator, validAfter: BigInt(a.witness.validAfter) }, signature],
      });
    const before = await balance(account.address);
    await expect(settleAs(5, 1000n)).rejects.toThrow(/UnauthorizedFacilitator/);
    await expect(settleAs(0, MAX + 1n)).rejects.toThrow(/AmountExceedsPermitted/);
    const hash = await settleAs(0, 1000n);
    expect((await reader().waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(await balance(account.address)).toBe(before - 1000n);
  });
});
