// The token an offer is paid in, and how a buyer's signature moves it: EIP-3009
// (transferWithAuthorization, USDC's way) or Permit2 (any ERC-20, through the x402 exact
// Permit2 proxy). An offer that names no asset is paid in its network's USDC. A named one
// must say what the price means in it: its decimals, and for EIP-3009 the EIP-712 domain a
// buyer signs; nothing about another token's money is guessed.
import * as v from "valibot";
import type { FieldIssue } from "./field-issues.ts";
import type { Network } from "./networks.ts";
import { AddressSchema } from "./pay-to.ts";
import { PERMIT2_CONTRACTS } from "./permit2.ts";

export const TRANSFER_METHODS = ["eip3009", "permit2"] as const;
export type TransferMethod = (typeof TRANSFER_METHODS)[number];

/** ERC-20 decimals are a uint8; no token in use has more than 36, and a price must fit a uint256. */
export const MAX_DECIMALS = 36;

const printable = (max: number) =>
  v.pipe(
    v.string(),
    v.minLength(1, "must not be empty"),
    v.maxLength(max, `must be at most ${max} characters`),
    v.regex(/^[\x20-\x7e]+$/, "must hold printable ASCII only"),
  );

/** obol-stack's `payment.asset`, also a PaymentRoute's `asset`. */
export const AssetSpecSchema = v.strictObject({
  address: AddressSchema,
  symbol: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9.$_-]{1,16}$/, "must be 1-16 letters, digits, '.', '$', '_' or '-'"))),
  decimals: v.optional(v.pipe(
    v.number(),
    v.integer("must be a whole number"),
    v.minValue(0, `must be 0-${MAX_DECIMALS}`),
    v.maxValue(MAX_DECIMALS, `must be 0-${MAX_DECIMALS}`),
  )),
  transferMethod: v.optional(v.picklist(TRANSFER_METHODS, `must be one of ${TRANSFER_METHODS.join(", ")}`)),
  eip712Name: v.optional(printable(64)),
  eip712Version: v.optional(printable(32)),
});
export type AssetSpec = v.InferOutput<typeof AssetSpecSchema>;

export type Asset = {
  address: `0x${string}`;
  symbol: string;
  decimals: number;
  transferMethod: TransferMethod;
  /** The token's EIP-712 domain: what an EIP-3009 signature is made over. */
  eip712Name?: string;
  eip712Version?: string;
};

/** The network's USDC, paid by EIP-3009. */
export function defaultAsset(network: Network): Asset {
  return {
    address: network.asset,
    symbol: network.symbol,
    decimals: network.decimals,
    transferMethod: "eip3009",
    eip712Name: network.tokenName,
    eip712Version: network.tokenVersion,
  };
}

export type AssetResult = { ok: true; asset: Asset } | { ok: false; issues: FieldIssue[] };

/**
 * The asset an offer (or route) is paid in, with every blank filled from what is known for
 * certain: the network's own USDC. `field` names the spec's asset ("spec.payment.asset").
 */
export function resolveAsset(spec: AssetSpec | undefined, network: Network, field: string): AssetResult {
  if (spec === undefined) return { ok: true, asset: defaultAsset(network) };
  const transferMethod = spec.transferMethod ?? "eip3009";
  const known = spec.address.toLowerCase() === network.asset.toLowerCase() ? defaultAsset(network) : undefined;
  const issues: FieldIssue[] = [];
  const issue = (name: string, message: string) => issues.push({ field: `${field}.${name}`, message });
  if (PERMIT2_CONTRACTS.includes(spec.address.toLowerCase())) {
    return { ok: false, issues: [{ field: `${field}.address`, message: `is a contract of the Permit2 path, not a token (got "${spec.address}")` }] };
  }
  if (known) {
    // The network's USDC: what we know of it is checked, not overridden.
    if (spec.symbol !== undefined && spec.symbol !== known.symbol) {
      issue("symbol", `must be "${known.symbol}", the symbol of ${network.name}'s ${known.symbol}, which revenue is counted under (got "${spec.symbol}")`);
    }
    if (spec.decimals !== undefined && spec.decimals !== known.decimals) {
      issue("decimals", `must be ${known.decimals}, the decimals of ${network.name}'s ${known.symbol} (got ${spec.decimals})`);
    }
    if (transferMethod === "eip3009") {
      if (spec.eip712Name !== undefined && spec.eip712Name !== known.eip712Name) {
        issue("eip712Name", `must be "${known.eip712Name}", the EIP-712 name of ${network.name}'s ${known.symbol}; another would make every signature fail (got "${spec.eip712Name}")`);
      }
      if (spec.eip712Version !== undefined && spec.eip712Version !== known.eip712Version) {
        issue("eip712Version", `must be "${known.eip712Version}", the EIP-712 version of ${network.name}'s ${known.symbol} (got "${spec.eip712Version}")`);
      }
    }
  } else {
    const other = `for a token other than ${network.name}'s ${network.symbol}`;
    if (spec.decimals === undefined) issue("decimals", `is required ${other}: the price is counted in it, and a guess would charge another amount`);
    if (spec.symbol === undefined) issue("symbol", `is required ${other}: buyers and revenue metrics name the token by it`);
    if (transferMethod === "eip3009") {
      const why = "an EIP-3009 token's signatures are made over its EIP-712 domain (or set transferMethod: permit2)";
      if (spec.eip712Name === undefined) issue("eip712Name", `is required ${other} paid by eip3009: ${why}`);
      if (spec.eip712Version === undefined) issue("eip712Version", `is required ${other} paid by eip3009: ${why}`);
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    asset: {
      address: spec.address as `0x${string}`,
      symbol: spec.symbol ?? known!.symbol,
      decimals: spec.decimals ?? known!.decimals,
      transferMethod,
      eip712Name: spec.eip712Name ?? (transferMethod === "eip3009" ? known?.eip712Name : undefined),
      eip712Version: spec.eip712Version ?? (transferMethod === "eip3009" ? known?.eip712Version : undefined),
    },
  };
}

/** The asset as a spec writes it, every field explicit: what the controller hands the verifier. */
export function assetSpecOf(asset: Asset): AssetSpec {
  const spec: AssetSpec = { address: asset.address, symbol: asset.symbol, decimals: asset.decimals, transferMethod: asset.transferMethod };
  if (asset.eip712Name !== undefined) spec.eip712Name = asset.eip712Name;
  if (asset.eip712Version !== undefined) spec.eip712Version = asset.eip712Version;
  return spec;
}
