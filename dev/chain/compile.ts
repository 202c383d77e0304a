// Compiles the test chain's contracts (dev/chain/contracts/<Name>.sol) with the npm solc
// (no network download). Loading and running the emscripten compiler takes seconds, so the
// output is cached in the OS temp dir, keyed by source and compiler version.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Abi, Hex } from "viem";

export type Compiled = { abi: Abi; deployedBytecode: Hex };

// The compiler version is read from package.json so a cache hit needs no solc load.
const SOLC_VERSION: string = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../node_modules/solc/package.json", import.meta.url)), "utf8"),
).version;
// Pinned rather than solc's default so the bytecode runs on whatever hardfork Hardhat picks.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  outputSelection: { "*": { "*": ["abi", "evm.deployedBytecode.object"] } },
};

export function compileTestUSDC(): Promise<Compiled> {
  return compileContract("TestUSDC");
}

export type ContractName = "TestUSDC" | "Multicall3" | "Permit2" | "X402ExactPermit2Proxy" | "X402UptoPermit2Proxy" | "TestObol" | "IdentityRegistry";

/** Another EIP-3009 token from TestUSDC's source: its own EIP-712 name and version, symbol and decimals. */
export type TokenVariant = { name: string; symbol: string; version: string; decimals: number };

export function compileEip3009Token(variant: TokenVariant): Promise<Compiled> {
  return compileContract("TestUSDC", (source) => {
    const replace = (text: string, line: RegExp, value: string) => {
      if (!line.test(text)) throw new Error(`TestUSDC.sol no longer declares ${line}: update compileEip3009Token`);
      return text.replace(line, value);
    };
    let patched = replace(source, /string public constant name = "USDC";/, `string public constant name = ${JSON.stringify(variant.name)};`);
    patched = replace(patched, /string public constant symbol = "USDC";/, `string public constant symbol = ${JSON.stringify(variant.symbol)};`);
    patched = replace(patched, /uint8 public constant decimals = 6;/, `uint8 public constant decimals = ${variant.decimals};`);
    return replace(patched, /string private constant VERSION = "2";/, `string private constant VERSION = ${JSON.stringify(variant.version)};`);
  });
}

export async function compileContract(name: ContractName, patch: (source: string) => string = (source) => source): Promise<Compiled> {
  const CONTRACT = name;
  const source = patch(readFileSync(fileURLToPath(new URL(`./contracts/${CONTRACT}.sol`, import.meta.url)), "utf8"));
  const key = createHash("sha256").update(JSON.stringify([source, SOLC_VERSION, SETTINGS])).digest("hex").slice(0, 16);
  const cacheFile = path.join(os.tmpdir(), "x402-test-chain", `${CONTRACT}-${key}.json`);
  try {
    return JSON.parse(readFileSync(cacheFile, "utf8")) as Compiled;
  } catch {
    // Not cached yet (or unreadable): compile below.
  }

  const { default: solc } = await import("solc");
  const input = { language: "Solidity", sources: { [`${CONTRACT}.sol`]: { content: source } }, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
  if (errors.length > 0) {
    throw new Error(`solc failed:\n${errors.map((e: { formattedMessage: string }) => e.formattedMessage).join("\n")}`);
  }
  const contract = output.contracts[`${CONTRACT}.sol`][CONTRACT];
  const compiled: Compiled = { abi: contract.abi, deployedBytecode: `0x${contract.evm.deployedBytecode.object}` };

  // Write then rename, so parallel test processes never read a half-written file.
  mkdirSync(path.dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(compiled));
  renameSync(tmp, cacheFile);
  return compiled;
}
