import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  domainSeparator,
  encodeFunctionData,
  type Hex,
  http,
  parseSignature,
  toHex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../../verifier/x402/eip3009.ts";
import { type Chain, MULTICALL3_ADDRESS, startChain } from "./chain.ts";

const AUTHORIZATION_TYPES = TRANSFER_WITH_AUTHORIZATION_TYPES;

describe("local chain with test USDC", () => {
  let chain: Chain;
  let publicClient: ReturnType<typeof createPublicClient>;

  beforeAll(async () => {
    chain = await startChain();
    publicClient = createPublicClient({ chain: chain.viemChain, transport: http(), pollingInterval: 50 });
  }, 120_000);

  afterAll(async () => {
    await chain?.stop();
    if (chain) await expect(fetch(chain.rpcUrl, { method: "POST", body: "{}" })).rejects.toThrow();
  }, 30_000);

  const account = (i: number) => {
    const found = chain.accounts[i];
    if (!found) throw new Error(`the chain has no account #${i}`);
    return found;
  };

  const read = (functionName: string, args: unknown[] = []) =>
    publicClient.readContract({ address: chain.token, abi: chain.abi, functionName, args });

  // Signs as `payer` the way an x402 client does, and submits from account 0 the way a facilitator does.
  async function authorize(payerIndex: number, to: Address, value: bigint, validBefore?: bigint) {
    const payer = privateKeyToAccount(account(payerIndex).privateKey);
    const message = {
      from: payer.address,
      to,
      value,
      validAfter: 0n,
      validBefore: validBefore ?? BigInt(Math.floor(Date.now() / 1000) + 3600),
      nonce: toHex(crypto.getRandomValues(new Uint8Array(32))),
    };
    const signature = await payer.signTypedData({
      domain: { name: "USDC", version: "2", chainId: chain.chainId, verifyingContract: chain.token },
      types: AUTHORIZATION_TYPES,
      primaryType: "TransferWithAuthorization",
      message,
    });
    const args = [message.from, message.to, message.value, message.validAfter, message.validBefore, message.nonce];
    return { message, signature, args };
  }

  async function submit(args: unknown[]) {
    const facilitator = createWalletClient({
      chain: chain.viemChain,
      transport: http(),
      account: privateKeyToAccount(account(0).privateKey),
    });
    const hash = await facilitator.writeContract({
      address: chain.token,
      abi: chain.abi,
      functionName: "transferWithAuthorization",
      args,
    });
    return publicClient.waitForTransactionReceipt({ hash });
  }

  function vrs(signature: Hex) {
    const { v, r, s } = parseSignature(signature);
    return [Number(v), r, s];
  }

  it("runs with the base-sepolia chain id", async () => {
    expect(chain.chainId).toBe(84532);
    expect(await publicClient.getChainId()).toBe(84532);
    expect(chain.token).toBe("0x036CbD53842c5426634e7929541eC2318f3dCF7e");
  });

  it("has a token that looks like base-sepolia USDC", async () => {
    expect(await read("name")).toBe("USDC");
    expect(await read("symbol")).toBe("USDC");
    expect(await read("version")).toBe("2");
    expect(await read("decimals")).toBe(6);
    const expected = domainSeparator({
      domain: { name: "USDC", version: "2", chainId: chain.chainId, verifyingContract: chain.token },
    });
    expect(await read("DOMAIN_SEPARATOR")).toBe(expected);
  });

  it("gives every account 1000 USDC", async () => {
    expect(chain.accounts.length).toBeGreaterThanOrEqual(5);
    for (const { address } of chain.accounts) {
      expect(await read("balanceOf", [address])).toBe(1_000_000_000n);
    }
  });

  it("settles a transferWithAuthorization (v, r, s) exactly once", async () => {
    const [payer, payee] = [account(1).address, account(2).address];
    const payerBefore = (await read("balanceOf", [payer])) as bigint;
    const payeeBefore = (await read("balanceOf", [payee])) as bigint;
    const { message, signature, args } = await authorize(1, payee, 1000n);

    const receipt = await submit([...args, ...vrs(signature)]);
    expect(receipt.status).toBe("success");
    expect(await read("balanceOf", [payer])).toBe(payerBefore - 1000n);
    expect(await read("balanceOf", [payee])).toBe(payeeBefore + 1000n);
    expect(await read("authorizationState", [payer, message.nonce])).toBe(true);

    await expect(submit([...args, ...vrs(signature)])).rejects.toThrow(/authorization is used or canceled/);
  });

  it("rejects an expired authorization", async () => {
    const past = BigInt(Math.floor(Date.now() / 1000) - 60);
    const { message, signature, args } = await authorize(1, account(2).address, 1000n, past);
    await expect(submit([...args, ...vrs(signature)])).rejects.toThrow(/authorization is expired/);
    expect(await read("authorizationState", [message.from, message.nonce])).toBe(false);
  });

  it("settles with the bytes-signature overload", async () => {
    const [payer, payee] = [account(3).address, account(4).address];
    const before = (await read("balanceOf", [payee])) as bigint;
    const { message, signature, args } = await authorize(3, payee, 2500n);

    const receipt = await submit([...args, signature]);
    expect(receipt.status).toBe("success");
    expect(await read("balanceOf", [payee])).toBe(before + 2500n);
    expect(await read("authorizationState", [payer, message.nonce])).toBe(true);
  });

  it("rejects a signature by someone other than `from`", async () => {
    const { signature, args } = await authorize(1, account(2).address, 1000n);
    const forged = [account(3).address, ...args.slice(1)];
    await expect(submit([...forged, signature])).rejects.toThrow(/invalid signature/);
  });

  it("has Multicall3 at its canonical address, batching reads the way the official facilitator does", async () => {
    const multicall = [{
      type: "function", name: "tryAggregate", stateMutability: "view", // payable on chain; read here with eth_call
      inputs: [{ name: "requireSuccess", type: "bool" }, { name: "calls", type: "tuple[]", components: [{ name: "target", type: "address" }, { name: "callData", type: "bytes" }] }],
      outputs: [{ name: "returnData", type: "tuple[]", components: [{ name: "success", type: "bool" }, { name: "returnData", type: "bytes" }] }],
    }] as const;
    const balanceCall = encodeFunctionData({ abi: chain.abi, functionName: "balanceOf", args: [account(9).address] });
    const results = await publicClient.readContract({ address: MULTICALL3_ADDRESS, abi: multicall, functionName: "tryAggregate", args: [false, [{ target: chain.token, callData: balanceCall }, { target: chain.token, callData: "0xdeadbeef" }]] });
    expect(results.map((r) => r.success)).toEqual([true, false]);
    expect(BigInt(results[0]!.returnData)).toBe(1_000_000_000n);
  });
});
