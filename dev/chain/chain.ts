// A throwaway local EVM chain for tests: `hardhat node` in a child process, with a
// USDC-compatible EIP-3009 token at the canonical base-sepolia USDC address (so code that
// looks the token up by network finds it), Multicall3 at its canonical address, our own
// Permit2 and x402 exact and upto Permit2 proxies at theirs, an 18-decimal OBOL-like token paid through
// Permit2, a second EIP-3009 token (EURC-like) with a domain of its own, and the Hardhat dev
// accounts holding all three.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Abi,
  type Address,
  type Chain as ViemChain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  toHex,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { freePort } from "../free-port.ts";
import { compileContract, compileEip3009Token, compileTestUSDC, type TokenVariant } from "./compile.ts";

export const USDC_ADDRESS: Address = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
/** Where Multicall3 sits on every public EVM chain; the official x402 facilitator reads through it. */
export const MULTICALL3_ADDRESS: Address = "0xcA11bde05977b3631167028862bE2a173976CA11";
export const INITIAL_USDC = 1_000_000_000n; // 1000 USDC, 6 decimals
/** Canonical addresses, as @x402/evm exports them (docs/permit2-facts.md). */
export const PERMIT2_ADDRESS: Address = "0x000000000022D473030F116dDEE9F6B43aC78BA3";
export const EXACT_PERMIT2_PROXY_ADDRESS: Address = "0x402085c248EeA27D92E8b30b2C58ed07f9E20001";
export const UPTO_PERMIT2_PROXY_ADDRESS: Address = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";
/** Where the local chain's OBOL-like test token lives (any free address would do). */
/** ERC-8004's Identity Registry on Base Sepolia (and Ethereum Sepolia): ours (contracts/IdentityRegistry.sol) on the test chain. */
export const IDENTITY_REGISTRY_ADDRESS: Address = "0x8004A818BFB912233c491871b3d84c89A494BD9e";
export const OBOL_ADDRESS: Address = "0x0B01000000000000000000000000000000000b01";
export const INITIAL_OBOL = 1_000n * 10n ** 18n; // 1000 OBOL, 18 decimals

/** A second EIP-3009 token (EURC-like) with its own EIP-712 domain, at an address of its own. */
export const EURC_ADDRESS: Address = "0xE0C0000000000000000000000000000000000e0C";
const EURC: TokenVariant = { name: "EURC", symbol: "EURC", version: "1", decimals: 6 };

export type Chain = {
  rpcUrl: string;
  chainId: number;
  token: Address;
  accounts: { address: Address; privateKey: Hex }[];
  abi: Abi;
  /** The OBOL-like 18-decimal token, paid through Permit2 (no EIP-3009). */
  obol: { address: Address; abi: Abi };
  /** An EIP-3009 token other than USDC: EIP-712 domain ("EURC", "1"), 6 decimals. */
  eurc: { address: Address; abi: Abi } & TokenVariant;
  /** ERC-8004's Identity Registry at its Base Sepolia address. */
  identityRegistry: { address: Address; abi: Abi };
  /** viem chain object for this node, for createPublicClient/createWalletClient. */
  viemChain: ViemChain;
  stop(): Promise<void>;
};

// Hardhat's default dev accounts come from this mnemonic; their keys are public.
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
const ACCOUNT_COUNT = 10;
const START_TIMEOUT_MS = 30_000;

const CHAIN_DIR = fileURLToPath(new URL(".", import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export async function startChain(options: { chainId?: number } = {}): Promise<Chain> {
  const chainId = options.chainId ?? 84532;
  const [compiled, multicall, permit2, proxy, uptoProxy, obol, eurc, identity, port] = await Promise.all([
    compileTestUSDC(), compileContract("Multicall3"), compileContract("Permit2"), compileContract("X402ExactPermit2Proxy"), compileContract("X402UptoPermit2Proxy"),
    compileContract("TestObol"), compileEip3009Token(EURC), compileContract("IdentityRegistry"), freePort(),
  ]);
  const rpcUrl = `http://127.0.0.1:${port}`;

  const child = spawn(
    nodeBinary(),
    [hardhatCli(), "node", "--chain-id", String(chainId), "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: CHAIN_DIR,
      detached: false,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY: "true", NO_COLOR: "1" },
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // The node logs every RPC call; keep only the tail for error messages.
  let output = "";
  const collect = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-8000));
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  // A test run that ends without stop() must not leave a node behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.on("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    await terminate(child, exited);
  };

  try {
    await waitForRpc(rpcUrl, chainId, child, () => output);
    const viemChain = defineChain({
      id: chainId,
      name: `x402 test chain ${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    const accounts = await devAccounts(rpcUrl);
    await installToken(viemChain, USDC_ADDRESS, compiled, accounts, INITIAL_USDC);
    await installToken(viemChain, OBOL_ADDRESS, obol, accounts, INITIAL_OBOL);
    await installToken(viemChain, EURC_ADDRESS, eurc, accounts, INITIAL_USDC);
    await rpc(rpcUrl, "hardhat_setCode", [MULTICALL3_ADDRESS, multicall.deployedBytecode]);
    await rpc(rpcUrl, "hardhat_setCode", [PERMIT2_ADDRESS, permit2.deployedBytecode]);
    await rpc(rpcUrl, "hardhat_setCode", [EXACT_PERMIT2_PROXY_ADDRESS, proxy.deployedBytecode]);
    await rpc(rpcUrl, "hardhat_setCode", [UPTO_PERMIT2_PROXY_ADDRESS, uptoProxy.deployedBytecode]);
    await rpc(rpcUrl, "hardhat_setCode", [IDENTITY_REGISTRY_ADDRESS, identity.deployedBytecode]);
    return { rpcUrl, chainId, token: USDC_ADDRESS, accounts, abi: compiled.abi, obol: { address: OBOL_ADDRESS, abi: obol.abi }, eurc: { address: EURC_ADDRESS, abi: eurc.abi, ...EURC }, identityRegistry: { address: IDENTITY_REGISTRY_ADDRESS, abi: identity.abi }, viemChain, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function installToken(chain: ViemChain, address: Address, compiled: { abi: Abi; deployedBytecode: Hex }, accounts: Chain["accounts"], amount: bigint) {
  // Hardhat automines each transaction, so receipts exist as soon as the send returns.
  const transport = http(undefined, { retryCount: 0 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
  const minter = createWalletClient({ chain, transport, account: accounts[0]!.address });
  await publicClient.request({
    method: "hardhat_setCode" as never,
    params: [address, compiled.deployedBytecode] as never,
  });
  for (const { address: holder } of accounts) {
    const hash = await minter.writeContract({
      address,
      abi: compiled.abi,
      functionName: "mint",
      args: [holder, amount],
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`minting ${address} to ${holder} failed (tx ${hash})`);
  }
}

async function devAccounts(rpcUrl: string): Promise<Chain["accounts"]> {
  const derived = Array.from({ length: ACCOUNT_COUNT }, (_, addressIndex) => {
    const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex });
    return { address: account.address, privateKey: toHex(account.getHdKey().privateKey!) };
  });
  // Guard against a Hardhat default change silently handing out unfunded keys.
  const nodeAccounts = (await rpc(rpcUrl, "eth_accounts")) as string[];
  derived.forEach(({ address }, i) => {
    if (nodeAccounts[i]?.toLowerCase() !== address.toLowerCase()) {
      throw new Error(`hardhat account #${i} is ${nodeAccounts[i]}, expected ${address} from the default mnemonic`);
    }
  });
  return derived;
}

async function waitForRpc(rpcUrl: string, chainId: number, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`hardhat node exited (${child.exitCode ?? child.signalCode}) before answering:\n${output()}`);
    }
    try {
      const answered = Number(await rpc(rpcUrl, "eth_chainId"));
      if (answered !== chainId) throw new Error(`hardhat node reports chain id ${answered}, wanted ${chainId}`);
      return;
    } catch (error) {
      if (!isConnectionError(error)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`hardhat node did not answer on ${rpcUrl} within ${START_TIMEOUT_MS / 1000}s:\n${output()}`);
}

async function rpc(rpcUrl: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

function isConnectionError(error: unknown): boolean {
  // Node's fetch wraps ECONNREFUSED in a TypeError("fetch failed"); Deno throws a TypeError too.
  return error instanceof TypeError;
}

async function terminate(child: ChildProcess, exited: Promise<void>) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

// Hardhat 3's engine needs Node >= 22: use the running Node when it qualifies, otherwise
// (Deno, or vitest started by an older system Node) the project's npm-installed Node 24.
function nodeBinary(): string {
  const isDeno = "Deno" in globalThis;
  const major = Number(process.versions.node.split(".")[0]);
  if (!isDeno && major >= 22) return process.execPath;
  return path.join(PROJECT_ROOT, "node_modules", ".bin", "node");
}

function hardhatCli(): string {
  const pkgDir = path.join(PROJECT_ROOT, "node_modules", "hardhat");
  const { bin } = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  return path.join(pkgDir, typeof bin === "string" ? bin : bin.hardhat);
}
