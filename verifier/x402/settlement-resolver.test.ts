// Did an unknown settlement land? Asked of a real chain (Hardhat, our EIP-3009 token at
// the canonical address): a used nonce only counts when its transaction paid the seller.
import { type Address, createPublicClient, createWalletClient, encodeFunctionData, type Hex, http, parseSignature, type PublicClient, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, MULTICALL3_ADDRESS, startChain } from "../../dev/chain/chain.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "./eip3009.ts";
import type { PaymentAttempt } from "./payment-header.ts";
import { resolveOnChain } from "./settlement-resolver.ts";
import { pricedRoute } from "../test-support.ts";

describe("resolveOnChain", () => {
  let chain: Chain;
  let reader: PublicClient;
  let seller: Address;

  beforeAll(async () => {
    chain = await startChain();
    reader = createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl), pollingInterval: 50 }) as PublicClient;
    seller = chain.accounts[4]!.address;
  }, 120_000);
  afterAll(async () => await chain?.stop(), 30_000);

  const domain = () => ({ name: "USDC", version: "2", chainId: chain.chainId, verifyingContract: chain.token });
  const chainNow = async () => (await reader.getBlock()).timestamp;

  /** The buyer (account 2) signs a transfer, the way an x402 client does. */
  async function authorize(to: Address, value: bigint, options: { nonce?: Hex; validBefore?: bigint } = {}) {
    const buyer = privateKeyToAccount(chain.accounts[2]!.privateKey);
    const authorization = { from: buyer.address, to, value, validAfter: 0n, validBefore: options.validBefore ?? (await chainNow()) + 3600n, nonce: options.nonce ?? toHex(crypto.getRandomValues(new Uint8Array(32))) };
    const signature = await buyer.signTypedData({ domain: domain(), types: TRANSFER_WITH_AUTHORIZATION_TYPES, primaryType: "TransferWithAuthorization", message: authorization });
    const payment: PaymentAttempt = { version: 1, scheme: "exact", network: "base-sepolia", method: "eip3009", authorization, signature };
    return payment;
  }

  /** Submits from account 0, as a facilitator would. */
  async function execute(payment: PaymentAttempt): Promise<Hex> {
    const wallet = createWalletClient({ chain: chain.viemChain, transport: http(chain.rpcUrl), account: privateKeyToAccount(chain.accounts[0]!.privateKey) });
    const a = payment.authorization;
    const { v, r, s } = parseSignature(payment.signature);
    const hash = await wallet.writeContract({ address: chain.token, abi: chain.abi, functionName: "transferWithAuthorization", args: [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, Number(v), r, s] });
    await reader.waitForTransactionReceipt({ hash });
    return hash;
  }

  const resolve = (payment: PaymentAttempt) => resolveOnChain(reader, { payment, accept: pricedRoute({ payTo: seller }).accepts[0]! });

  it("finds a landed payment from the token's logs, whatever the facilitator said of its transaction", async () => {
    const payment = await authorize(seller, 1000n);
    const hash = await execute(payment);
    expect(await resolve(payment)).toEqual({ kind: "settled", transaction: hash, amount: 1000n });
  });

  it("finds a payment that landed just after an earlier lookup (no stale view of the chain's head)", async () => {
    const first = await authorize(seller, 1000n);
    await execute(first);
    expect(await resolve(first)).toMatchObject({ kind: "settled" });
    const second = await authorize(seller, 1000n);
    const hash = await execute(second);
    expect(await resolve(second)).toEqual({ kind: "settled", transaction: hash, amount: 1000n });
  });

  it("says an unused authorization has not landed, so that it may be settled again (the token moves money once per nonce)", async () => {
    expect(await resolve(await authorize(seller, 1000n))).toEqual({ kind: "not-settled" });
    expect(await resolve(await authorize(seller, 1000n, { validBefore: (await chainNow()) - 1n }))).toEqual({ kind: "not-settled" });
  });

  it("does not count a nonce the buyer used for another transfer to itself: the seller was never paid", async () => {
    const payment = await authorize(seller, 1000n);
    const frontRun = await authorize(chain.accounts[2]!.address, 1n, { nonce: payment.authorization.nonce });
    const hash = await execute(frontRun);
    const never = { kind: "not-settled", refusal: { reason: "payment_already_used", message: expect.stringContaining("another transfer") } };
    expect(hash).toMatch(/^0x/);
    expect(await resolve(payment)).toEqual(never);
  });

  it("does not count the nonce's transaction for a transfer that another authorization in it made", async () => {
    // One transaction, two authorizations (through Multicall3): nonce N pays the buyer
    // himself, another nonce pays the seller the price. Payment P (nonce N, to the seller)
    // never landed, though a transfer of its value to the seller sits in the same transaction.
    const payment = await authorize(seller, 1000n);
    const decoy = await authorize(chain.accounts[2]!.address, 1n, { nonce: payment.authorization.nonce });
    const other = await authorize(seller, 1000n);
    const call = (p: PaymentAttempt) => {
      const a = p.authorization;
      const { v, r, s } = parseSignature(p.signature);
      return { target: chain.token, callData: encodeFunctionData({ abi: chain.abi, functionName: "transferWithAuthorization", args: [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, Number(v), r, s] }) };
    };
    const aggregate = [{
      type: "function", name: "aggregate", stateMutability: "payable",
      inputs: [{ name: "calls", type: "tuple[]", components: [{ name: "target", type: "address" }, { name: "callData", type: "bytes" }] }],
      outputs: [{ name: "blockNumber", type: "uint256" }, { name: "returnData", type: "bytes[]" }],
    }] as const;
    const wallet = createWalletClient({ chain: chain.viemChain, transport: http(chain.rpcUrl), account: privateKeyToAccount(chain.accounts[0]!.privateKey) });
    const hash = await wallet.writeContract({ address: MULTICALL3_ADDRESS, abi: aggregate, functionName: "aggregate", args: [[call(decoy), call(other)]] });
    expect((await reader.waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(await resolve(payment)).toMatchObject({ kind: "not-settled", refusal: { reason: "payment_already_used" } });
    expect(await resolve(other)).toEqual({ kind: "settled", transaction: hash, amount: other.authorization.value });
  });

  it("does not count a canceled authorization", async () => {
    const payment = await authorize(seller, 1000n);
    const buyer = privateKeyToAccount(chain.accounts[2]!.privateKey);
    const signature = await buyer.signTypedData({
      domain: domain(), primaryType: "CancelAuthorization",
      types: { CancelAuthorization: [{ name: "authorizer", type: "address" }, { name: "nonce", type: "bytes32" }] },
      message: { authorizer: buyer.address, nonce: payment.authorization.nonce },
    });
    const { v, r, s } = parseSignature(signature);
    const wallet = createWalletClient({ chain: chain.viemChain, transport: http(chain.rpcUrl), account: buyer });
    await reader.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: chain.token, abi: chain.abi, functionName: "cancelAuthorization", args: [buyer.address, payment.authorization.nonce, Number(v), r, s] }) });
    expect(await resolve(payment)).toEqual({ kind: "not-settled", refusal: { reason: "payment_already_used", message: "this authorization was canceled" } });
  });

  it("cannot tell when the chain does not answer", async () => {
    const dead = createPublicClient({ chain: chain.viemChain, transport: http("http://127.0.0.1:1", { retryCount: 0 }) }) as PublicClient;
    expect(await resolveOnChain(dead, { payment: await authorize(seller, 1000n), accept: pricedRoute({ payTo: seller }).accepts[0]! })).toMatchObject({ kind: "unknown", message: expect.stringContaining("could not read the chain") });
  });
});
