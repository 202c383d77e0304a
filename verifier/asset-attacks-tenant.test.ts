// Attacks by a hostile tenant writing PaymentRoutes by hand: assets and alternatives that
// would charge in the wrong token or pay nobody are refused, naming the field.
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import { EXACT_PERMIT2_PROXY_ADDRESS, PERMIT2_ADDRESS } from "../core/permit2.ts";
import { forwardAuth } from "./forward-auth.ts";
import { memoryReplayGuard } from "./replay-guard.ts";
import { priceRoute } from "./routes/priced-route.ts";
import { OBOL, OBOL_ASSET, PAY_TO, paidRequestV2, pricedRoute, signedPermit2Payment, verifierDeps } from "./test-support.ts";
import { only, OTHER_PAYEE, recording, shop, signedEip3009V2, USDC } from "./asset-attacks-support.ts";

describe("a hostile tenant writing PaymentRoutes by hand", () => {
  const admit = (spec: Record<string, unknown>) => {
    const raw = v.safeParse(PaymentRouteSchema, {
      apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "evil", namespace: "mallory" },
      spec: { pattern: "/evil/*", price: "0.001", payTo: PAY_TO, network: "base-sepolia", ...spec },
    });
    // Refused by the schema (the verifier reports it in the route's status): name the field by its path.
    if (!raw.success) return { ok: false as const, field: `spec.${v.getDotPath(raw.issues[0]!)?.replace(/^spec\./, "")}` };
    const priced = priceRoute(raw.output, DEFAULT_NETWORKS);
    return priced.ok ? { ok: true as const, route: priced.route } : { ok: false as const, field: priced.issue.field };
  };

  it.each([
    ["the network's USDC with 18 decimals", { asset: { address: USDC, symbol: "USDC", decimals: 18, transferMethod: "eip3009" } }, "spec.asset.decimals"],
    ["the network's USDC, lowercased, with 18 decimals through Permit2", { asset: { address: USDC.toLowerCase(), symbol: "USDC", decimals: 18, transferMethod: "permit2" } }, "spec.asset.decimals"],
    ["the network's USDC with another EIP-712 name", { asset: { address: USDC, eip712Name: "USD Coin" } }, "spec.asset.eip712Name"],
    ["an unknown token without decimals", { asset: { address: OBOL, symbol: "OBOL", transferMethod: "permit2" } }, "spec.asset.decimals"],
    ["an unknown EIP-3009 token without its domain", { asset: { address: OBOL, symbol: "OBOL", decimals: 18 } }, "spec.asset.eip712Name"],
    ["37 decimals", { asset: { address: OBOL, symbol: "OBOL", decimals: 37, transferMethod: "permit2" } }, "spec.asset.decimals"],
    ["payTo = the exact Permit2 proxy", { payTo: EXACT_PERMIT2_PROXY_ADDRESS, asset: OBOL_ASSET }, "spec.payTo"],
    ["payTo = Permit2", { payTo: PERMIT2_ADDRESS, asset: OBOL_ASSET }, "spec.payTo"],
    ["payTo = the token itself", { payTo: OBOL, asset: OBOL_ASSET }, "spec.payTo"],
    ["an alternative repeating the main accept's token in another case", { alternatives: [{ network: "base-sepolia", price: "0.002", payTo: PAY_TO, asset: { address: USDC.toLowerCase(), transferMethod: "permit2" } }] }, "spec.alternatives.0"],
    ["an alternative repeating OBOL on the same chain by its CAIP-2 id", { asset: OBOL_ASSET, alternatives: [{ network: "eip155:84532", price: "1", payTo: PAY_TO, asset: { ...OBOL_ASSET, address: OBOL.toLowerCase() } }] }, "spec.alternatives.0"],
    ["an alternative on an alias of the same chain", { network: "base", alternatives: [{ network: "base-mainnet", price: "1", payTo: PAY_TO }] }, "spec.alternatives.0"],
    ["an alternative whose payTo is the proxy", { alternatives: [{ network: "base-sepolia", price: "1", payTo: EXACT_PERMIT2_PROXY_ADDRESS, asset: OBOL_ASSET }] }, "spec.alternatives.0.payTo"],
    ["an OBOL price finer than 18 decimals", { asset: OBOL_ASSET, price: "0.0000000000000000001" }, "spec.price"],
    ["an amount that disagrees with the price in the token's decimals", { asset: OBOL_ASSET, price: "0.001", amount: "1000" }, "spec.amount"],
  ])("refuses a route priced with %s, naming the field", (_, spec, field) => {
    const admitted = admit(spec);
    expect(admitted.ok).toBe(false);
    if (!admitted.ok) expect(admitted.field).toBe(field);
  });

  it("keeps the USDC address's own decimals and domain when a route names it without them", () => {
    const admitted = admit({ asset: { address: USDC.toLowerCase() } });
    expect(admitted.ok).toBe(true);
    if (admitted.ok) expect(admitted.route.accepts[0]!.asset).toMatchObject({ decimals: 6, eip712Name: "USDC", eip712Version: "2", transferMethod: "eip3009" });
  });

  it("cannot take another tenant's payment: a buyer's permit for Alice's route is refused on Mallory's route that pays herself", async () => {
    const alice = pricedRoute({ price: "0.01", asset: OBOL_ASSET }, { name: "a", namespace: "alice" });
    const mallory = pricedRoute({ price: "0.01", asset: OBOL_ASSET, payTo: OTHER_PAYEE }, { name: "m", namespace: "mallory" });
    const { facilitator, calls } = recording();
    const { answer } = await forwardAuth(paidRequestV2(await signedPermit2Payment(alice)), verifierDeps(facilitator, {}, mallory));
    expect(answer.status).toBe(402);
    expect(calls.verify).toBe(0);
  });

  it("a route priced in a token at Permit2's address cannot make a buyer's real Permit2 nonce pay twice", async () => {
    // Mallory's route claims Permit2's address is an EIP-3009 token: its EIP-3009 nonces share the key space of Permit2 nonces.
    const mallory = admit({ asset: { address: PERMIT2_ADDRESS, symbol: "P2", decimals: 18, transferMethod: "eip3009", eip712Name: "Permit2", eip712Version: "1" } });
    const alice = only(shop(), 1);
    const guard = memoryReplayGuard();
    const { facilitator, calls } = recording();
    expect((await forwardAuth(paidRequestV2(await signedPermit2Payment(alice, { nonce: "66" })), verifierDeps(facilitator, { guard }, alice))).answer.status).toBe(200);
    if (mallory.ok) {
      const nonce = `0x${(66).toString(16).padStart(64, "0")}`;
      const m = mallory.route;
      const header = await signedEip3009V2(m.accepts[0]!, { nonce });
      const answer = (await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, m))).answer;
      // Either way, Alice's permit was settled once.
      expect([200, 402]).toContain(answer.status);
    }
    expect(calls.settle).toBeLessThanOrEqual(2);
  });
});

