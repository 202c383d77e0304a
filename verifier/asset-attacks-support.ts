// Fixtures for the attack tests on payments in other tokens and routes with several accepts
// (verifier/asset-attacks-*.test.ts): the accepts of a shop, payments signed by hand, a
// recording facilitator. Imported by tests only.
import { Buffer } from "node:buffer";
import { type PricedAccept, type PricedRoute } from "./routes/priced-route.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "./x402/eip3009.ts";
import type { PaymentContext, Resolution, SettleOutcome, VerifyOutcome } from "./x402/facilitator.ts";
import { BUYER, BUYER_ACCOUNT, NOW, OBOL, OBOL_ASSET, PAY_TO, pricedRoute, scripted, SETTLED, VALID } from "./test-support.ts";

export const USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
export const UPTO_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";
export const OTHER_PAYEE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
export const EURC = { address: "0x808456652fdb597867f38412077A9182bf77359F", symbol: "EURC", decimals: 6, transferMethod: "eip3009", eip712Name: "EURC", eip712Version: "2" };
export const TKN = { address: "0x7777777777777777777777777777777777777777", symbol: "TKN", decimals: 18, transferMethod: "permit2" };

export const decode = (header: string) => JSON.parse(Buffer.from(header, "base64").toString("utf8"));
export const encode = (body: unknown) => Buffer.from(typeof body === "string" ? body : JSON.stringify(body)).toString("base64");
export const errorOf = (answer: { headers: Record<string, string>; body: string }) =>
  answer.headers["payment-required"] ? decode(answer.headers["payment-required"]).error as string : JSON.parse(answer.body).error as string;
export const only = (route: PricedRoute, index: number): PricedRoute => ({ ...route, accepts: [route.accepts[index]!] });

/**
 * USDC 0.001 to PAY_TO (EIP-3009), OBOL 0.01 to PAY_TO (Permit2), EURC 0.002 to OTHER_PAYEE
 * (EIP-3009), TKN 0.5 to PAY_TO (Permit2): a cheap and an expensive accept of each kind.
 */
export const shop = (meta: { name?: string; namespace?: string } = {}) =>
  pricedRoute({
    alternatives: [
      { network: "base-sepolia", price: "0.01", payTo: PAY_TO, asset: OBOL_ASSET },
      { network: "base-sepolia", price: "0.002", payTo: OTHER_PAYEE, asset: EURC },
      { network: "base-sepolia", price: "0.5", payTo: PAY_TO, asset: TKN },
    ],
  }, meta);

export type Eip3009Fields = { from: string; to: string; value: string; validAfter: string; validBefore: string; nonce: string };

/** A v2 PAYMENT-SIGNATURE paying `accept` by EIP-3009, signed over the token's own domain unless `domainOf` names another accept. */
export async function signedEip3009V2(
  accept: PricedAccept,
  overrides: Partial<Eip3009Fields> = {},
  options: { accepted?: Record<string, unknown>; domainOf?: PricedAccept; signer?: typeof BUYER_ACCOUNT } = {},
): Promise<string> {
  const a: Eip3009Fields = {
    from: BUYER, to: accept.payTo, value: String(accept.amount), validAfter: String(NOW - 60n), validBefore: String(NOW + 300n),
    nonce: `0x${"42".repeat(32)}`, ...overrides,
  };
  const d = options.domainOf ?? accept;
  const signature = await (options.signer ?? BUYER_ACCOUNT).signTypedData({
    domain: { name: d.asset.eip712Name ?? "", version: d.asset.eip712Version ?? "", chainId: d.network.chainId, verifyingContract: d.asset.address },
    types: TRANSFER_WITH_AUTHORIZATION_TYPES, primaryType: "TransferWithAuthorization",
    message: {
      from: a.from as `0x${string}`, to: a.to as `0x${string}`, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore),
      nonce: a.nonce as `0x${string}`,
    },
  });
  return encode({ x402Version: 2, accepted: options.accepted ?? accept.v2Requirement, payload: { signature, authorization: a } });
}

/** A facilitator that records what it was asked to settle. */
export function recording(verify: VerifyOutcome | (() => VerifyOutcome | Promise<VerifyOutcome>) = VALID, settle: SettleOutcome | (() => SettleOutcome | Promise<SettleOutcome>) = SETTLED, resolve?: Resolution | (() => Resolution | Promise<Resolution>)) {
  const s = scripted(verify, settle, resolve);
  const settled: PaymentContext[] = [];
  const verified: PaymentContext[] = [];
  const { verify: vf, settle: sf } = s.facilitator;
  s.facilitator.verify = (context) => (verified.push(context), vf(context));
  s.facilitator.settle = (context) => (settled.push(context), sf(context));
  return { ...s, settled, verified };
}

