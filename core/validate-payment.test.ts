import { describe, expect, it } from "vitest";
import { validateOffer } from "./validate-offer.ts";
import { DEFAULT_CONFIG } from "./config.ts";

const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const OBOL = { address: "0x0B01000000000000000000000000000000000b01", symbol: "OBOL", decimals: 18, transferMethod: "permit2" };
const spec = (payments: unknown[]) => ({
  upstream: { service: "api", namespace: "shop" },
  payment: { network: "base-sepolia", payTo: PAY_TO, price: { perRequest: "0.001" } },
  payments,
});
const fieldsOf = (result: ReturnType<typeof validateOffer>) => result.ok ? [] : result.issues.map((i) => i.field);

describe("an offer's payments", () => {
  it("are each made concrete in their own network, token and decimals, after payment", () => {
    const result = validateOffer("x", spec([{ network: "base-sepolia", payTo: PAY_TO, price: { perMTok: "2" }, asset: OBOL }, { network: "base", payTo: PAY_TO, price: { perRequest: "0.5" } }]), DEFAULT_CONFIG);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.offer.price.amount).toBe(1000n);
    expect(result.offer.alternatives.map((t) => [t.network.name, t.asset.symbol, t.price.amount])).toEqual([["base-sepolia", "OBOL", 2n * 10n ** 15n], ["base", "USDC", 500_000n]]);
  });

  it("are judged like payment, each problem naming its entry", () => {
    const bad = [
      { network: "mars", payTo: PAY_TO, price: { perRequest: "1" } },
      { network: "base", payTo: PAY_TO, price: { perRequest: "0.0000001" } },
      { network: "base-sepolia", payTo: OBOL.address, price: { perRequest: "1" }, asset: OBOL },
      { network: "base-sepolia", payTo: PAY_TO, price: { perRequest: "1" }, asset: { address: OBOL.address } },
    ];
    expect(fieldsOf(validateOffer("x", spec(bad), DEFAULT_CONFIG))).toEqual([
      "spec.payments.0.network", "spec.payments.1.price.perRequest", "spec.payments.2.payTo",
      "spec.payments.3.asset.decimals", "spec.payments.3.asset.symbol", "spec.payments.3.asset.eip712Name", "spec.payments.3.asset.eip712Version",
    ]);
  });

  it("refuse one network and token twice, in any spelling of either", () => {
    const again = { network: "eip155:84532", payTo: PAY_TO, price: { perRequest: "0.002" }, asset: { address: "0x036cbd53842c5426634e7929541ec2318f3dcf7e" } };
    expect(fieldsOf(validateOffer("x", spec([again]), DEFAULT_CONFIG))).toEqual(["spec.payments.0"]);
  });

  it("are bounded, and an empty list is refused rather than read as none", () => {
    const one = { network: "base", payTo: PAY_TO, price: { perRequest: "1" } };
    expect(fieldsOf(validateOffer("x", spec([]), DEFAULT_CONFIG))).toEqual(["spec.payments"]);
    expect(fieldsOf(validateOffer("x", spec(Array(9).fill(one)), DEFAULT_CONFIG))).toEqual(["spec.payments"]);
  });
});
