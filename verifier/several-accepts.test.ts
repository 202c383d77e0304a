// A route with several accepts (an offer's payments): the 402 lists them all for x402 v2 and
// what v1 can pay for v1; the buyer's choice decides which terms are checked and settled; a
// payment that names one accept and pays by another's terms is refused before any facilitator.
import { Buffer } from "node:buffer";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import { priceRoute } from "./routes/priced-route.ts";
import type { PaymentContext } from "./x402/facilitator.ts";
import { forwardAuth } from "./forward-auth.ts";
import { verifierMetrics } from "./metrics.ts";
import { OBOL, OBOL_ASSET, PAY_TO, paidRequest, paidRequestV2, pricedRoute, request, scripted, SETTLED, signedPayment, signedPermit2Payment, VALID, verifierDeps } from "./test-support.ts";

const EURC = { address: "0x808456652fdb597867f38412077A9182bf77359F", symbol: "EURC", decimals: 6, transferMethod: "eip3009", eip712Name: "EURC", eip712Version: "2" };
/** USDC on base-sepolia (0.001), or OBOL through Permit2 (0.01), or EURC by EIP-3009 (0.002), or USDC on Base (0.003). */
const route = () =>
  pricedRoute({
    alternatives: [
      { network: "base-sepolia", price: "0.01", payTo: PAY_TO, asset: OBOL_ASSET },
      { network: "base-sepolia", price: "0.002", payTo: PAY_TO, asset: EURC },
      { network: "base", price: "0.003", payTo: PAY_TO },
    ],
  });
const decode = (header: string) => JSON.parse(Buffer.from(header, "base64").toString("utf8"));
const unpaid = request({ "x-forwarded-uri": "/services/llm/x", "x-forwarded-host": "api.example.com" });

describe("a route with several accepts", () => {
  it("lists every accept for x402 v2, in order, and for v1 the first EIP-3009 accept of each network", async () => {
    const { answer } = await forwardAuth(unpaid, verifierDeps(scripted(VALID, SETTLED).facilitator, {}, route()));
    const v2 = decode(answer.headers["payment-required"]!).accepts;
    expect(v2.map((a: { asset: string; amount: string; network: string }) => [a.network, a.asset, a.amount])).toEqual([
      ["eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "1000"],
      ["eip155:84532", OBOL, "10000000000000000"],
      ["eip155:84532", EURC.address, "2000"],
      ["eip155:8453", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "3000"],
    ]);
    const v1 = JSON.parse(answer.body).accepts;
    expect(v1.map((a: { network: string; maxAmountRequired: string }) => [a.network, a.maxAmountRequired])).toEqual([["base-sepolia", "1000"], ["base", "3000"]]);
  });

  it("settles the accept the buyer chose, and counts its revenue in that token", async () => {
    const seen: PaymentContext[] = [];
    const { facilitator } = scripted(VALID, SETTLED);
    const settle = facilitator.settle;
    facilitator.settle = (context) => (seen.push(context), settle(context));
    const r = route();
    const metrics = verifierMetrics();
    const deps = verifierDeps(facilitator, { metrics }, r);
    const obol = { ...r, accepts: [r.accepts[1]!] };
    const paid = await forwardAuth(paidRequestV2(await signedPermit2Payment(obol, { amount: "10000000000000000" })), deps);
    expect(paid.answer.status).toBe(200);
    expect(seen.map((c) => [c.accept.asset.symbol, c.accept.amount])).toEqual([["OBOL", 10n ** 16n]]);
    expect(metrics.registry.render()).toContain(`x402_verifier_revenue_total{offer_namespace="shop",offer_name="llm",chain="base-sepolia",asset_symbol="OBOL",asset="${OBOL}"} 0.01\n`);
    // A v1 payment on Base pays Base's accept (the only v1 one there).
    const base = await forwardAuth(paidRequest(await signedPayment({ value: "3000" }, { network: "base" })), deps);
    expect(base.answer.status).toBe(200);
    expect(seen.at(-1)!.accept.network.name).toBe("base");
  });

  it("refuses a payment that names one accept and pays another's amount, token or method, before any facilitator call", async () => {
    const r = route();
    const { facilitator, calls } = scripted(VALID, SETTLED);
    const deps = verifierDeps(facilitator, {}, r);
    const obolAccept = r.accepts[1]!.v2Requirement;
    // The OBOL accept named, paying USDC's amount.
    const cheap = await forwardAuth(paidRequestV2(await signedPermit2Payment({ ...r, accepts: [r.accepts[1]!] }, { amount: "1000" }, { accepted: obolAccept })), deps);
    expect(cheap.answer.status).toBe(402);
    // The OBOL accept named with its amount, the permit for USDC.
    const otherToken = await forwardAuth(paidRequestV2(await signedPermit2Payment({ ...r, accepts: [r.accepts[1]!] }, { token: "0x036CbD53842c5426634e7929541eC2318f3dCF7e" })), deps);
    expect(otherToken.answer.status).toBe(402);
    // An accept the route does not offer (OBOL at USDC's price).
    const invented = await forwardAuth(paidRequestV2(await signedPermit2Payment({ ...r, accepts: [r.accepts[1]!] }, { amount: "1000" }, { accepted: { ...obolAccept, amount: "1000" } })), deps);
    expect(decode(invented.answer.headers["payment-required"]!).error).toContain("invalid_payment_requirements");
    expect(calls.verify).toBe(0);
  });
});

describe("a route whose alternatives cannot all be paid", () => {
  const fieldOf = (alternatives: unknown[]) => {
    const raw = v.parse(PaymentRouteSchema, {
      apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "r", namespace: "shop" },
      spec: { pattern: "/r/*", price: "0.001", payTo: PAY_TO, network: "base-sepolia", alternatives },
    });
    const priced = priceRoute(raw, DEFAULT_NETWORKS);
    return priced.ok ? "admitted" : priced.issue.field;
  };
  it("is refused naming the alternative, not served with the others", () => {
    expect(fieldOf([{ network: "base", price: "1", payTo: PAY_TO }, { network: "mars", price: "1", payTo: PAY_TO }])).toBe("spec.alternatives.1.network");
    expect(fieldOf([{ network: "base-sepolia", price: "0.002", payTo: PAY_TO }])).toBe("spec.alternatives.0");
    expect(fieldOf([{ network: "base-sepolia", price: "0.002", payTo: PAY_TO, asset: { address: OBOL } }])).toBe("spec.alternatives.0.asset.decimals");
    expect(fieldOf([{ network: "base", price: "0.0000001", payTo: PAY_TO }])).toBe("spec.alternatives.0.price");
    expect(fieldOf([{ network: "base", price: "1", payTo: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913" }])).toBe("spec.alternatives.0.payTo");
    expect(fieldOf([{ network: "base", price: "1", payTo: PAY_TO }])).toBe("admitted");
  });
});
