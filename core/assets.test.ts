import { describe, expect, it } from "vitest";
import * as v from "valibot";
import { AssetSpecSchema, assetSpecOf, defaultAsset, resolveAsset } from "./assets.ts";
import { DEFAULT_NETWORKS, findNetwork } from "./networks.ts";

const baseSepolia = findNetwork(DEFAULT_NETWORKS, "base-sepolia")!;
const OBOL = "0x0B01000000000000000000000000000000000b01";
const field = "spec.payment.asset";
const fieldsOf = (result: ReturnType<typeof resolveAsset>) => result.ok ? [] : result.issues.map((i) => i.field);

describe("resolveAsset", () => {
  it("is the network's USDC by EIP-3009 when the offer names none", () => {
    expect(resolveAsset(undefined, baseSepolia, field)).toEqual({ ok: true, asset: defaultAsset(baseSepolia) });
    expect(defaultAsset(baseSepolia)).toMatchObject({ symbol: "USDC", decimals: 6, transferMethod: "eip3009", eip712Name: "USDC", eip712Version: "2" });
  });

  it("fills the network's USDC from what is known when named by address in any case", () => {
    const result = resolveAsset({ address: baseSepolia.asset.toUpperCase().replace("0X", "0x") }, baseSepolia, field);
    expect(result).toMatchObject({ ok: true, asset: { decimals: 6, symbol: "USDC", eip712Name: "USDC", eip712Version: "2" } });
  });

  it("refuses what contradicts the network's USDC, naming the field", () => {
    expect(fieldsOf(resolveAsset({ address: baseSepolia.asset, decimals: 18 }, baseSepolia, field))).toEqual([`${field}.decimals`]);
    expect(fieldsOf(resolveAsset({ address: baseSepolia.asset, eip712Name: "USD Coin" }, baseSepolia, field))).toEqual([`${field}.eip712Name`]);
    // Through Permit2 the token's own domain is not signed over: not judged.
    expect(resolveAsset({ address: baseSepolia.asset, eip712Name: "USD Coin", transferMethod: "permit2" }, baseSepolia, field)).toMatchObject({ ok: true });
  });

  it("asks of any other token what the price and the signature need, and guesses nothing", () => {
    expect(fieldsOf(resolveAsset({ address: OBOL }, baseSepolia, field))).toEqual([`${field}.decimals`, `${field}.symbol`, `${field}.eip712Name`, `${field}.eip712Version`]);
    expect(fieldsOf(resolveAsset({ address: OBOL, transferMethod: "permit2" }, baseSepolia, field))).toEqual([`${field}.decimals`, `${field}.symbol`]);
    const obol = resolveAsset({ address: OBOL, symbol: "OBOL", decimals: 18, transferMethod: "permit2" }, baseSepolia, field);
    expect(obol).toEqual({ ok: true, asset: { address: OBOL, symbol: "OBOL", decimals: 18, transferMethod: "permit2", eip712Name: undefined, eip712Version: undefined } });
  });

  it("round-trips through the spec the controller writes", () => {
    for (const spec of [{ address: OBOL, symbol: "OBOL", decimals: 18, transferMethod: "permit2" as const }, { address: baseSepolia.asset }]) {
      const first = resolveAsset(spec, baseSepolia, field);
      if (!first.ok) throw new Error("expected a valid asset");
      expect(resolveAsset(v.parse(AssetSpecSchema, assetSpecOf(first.asset)), baseSepolia, field)).toEqual(first);
    }
  });

  it("bounds what a spec may carry into every 402", () => {
    const bad = (extra: object) => !v.safeParse(AssetSpecSchema, { address: OBOL, ...extra }).success;
    expect(bad({ decimals: 37 })).toBe(true);
    expect(bad({ decimals: 1.5 })).toBe(true);
    expect(bad({ symbol: "a b" })).toBe(true);
    expect(bad({ eip712Name: "x".repeat(65) })).toBe(true);
    expect(bad({ eip712Name: "line\nbreak" })).toBe(true);
    expect(bad({ transferMethod: "erc7710" })).toBe(true);
    expect(bad({ color: "red" })).toBe(true);
  });
});

describe("resolveAsset refuses what is not a token, or mislabels one", () => {
  it("refuses Permit2 and the x402 proxies as a token, naming the address", () => {
    for (const address of ["0x000000000022D473030F116dDEE9F6B43aC78BA3", "0x402085c248eea27d92e8b30b2c58ed07f9e20001", "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002"]) {
      expect(fieldsOf(resolveAsset({ address, symbol: "X", decimals: 18, transferMethod: "permit2" }, baseSepolia, field))).toEqual([`${field}.address`]);
    }
  });

  it("refuses the network's USDC under another symbol (revenue would be counted under it)", () => {
    expect(fieldsOf(resolveAsset({ address: baseSepolia.asset, symbol: "EURC" }, baseSepolia, field))).toEqual([`${field}.symbol`]);
  });
});
