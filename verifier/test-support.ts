// Fixtures for the verifier's unit tests: priced routes, payments signed with a real key
// (the verifier recovers every signature before anything else), a scripted facilitator.
// Imported by tests only.
import { Buffer } from "node:buffer";
import * as v from "valibot";
import { privateKeyToAccount } from "viem/accounts";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import { EXACT_PERMIT2_PROXY_ADDRESS, PERMIT2_ADDRESS, UPTO_PERMIT2_PROXY_ADDRESS } from "../core/permit2.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "./x402/eip3009.ts";
import { PERMIT_WITNESS_TRANSFER_FROM_TYPES, UPTO_PERMIT_WITNESS_TRANSFER_FROM_TYPES } from "./x402/permit2.ts";
import type { Facilitator, Resolution, SettleOutcome, VerifyOutcome } from "./x402/facilitator.ts";
import type { VerifierDeps } from "./deps.ts";
import { type PricedAccept, priceRoute, type PricedRoute } from "./routes/priced-route.ts";
import { memoryReplayGuard } from "./replay-guard.ts";
import { buildRouteTable } from "./routes/table.ts";

export const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
/** Hardhat's well-known third account: a key anyone may use in tests. */
export const BUYER_ACCOUNT = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
export const BUYER = BUYER_ACCOUNT.address;
export const NOW = 1_800_000_000n;
export const quiet = { info() {}, warn() {}, error() {}, child: () => quiet };

export function pricedRoute(spec: Record<string, unknown> = {}, meta: { name?: string; namespace?: string } = {}): PricedRoute {
  const raw = v.parse(PaymentRouteSchema, {
    apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute",
    metadata: { name: meta.name ?? "llm-payment", namespace: meta.namespace ?? "shop", annotations: { "obol.org/offer": `${meta.namespace ?? "shop"}/llm` } },
    spec: { pattern: "/services/llm/*", price: "0.001", payTo: PAY_TO, network: "base-sepolia", ...spec },
  });
  const pricing = priceRoute(raw, DEFAULT_NETWORKS);
  if (!pricing.ok) throw new Error(pricing.issue.message);
  return pricing.route;
}

export type Authorization = { from: string; to: string; value: string; validAfter: string; validBefore: string; nonce: string };

/** A v1 X-PAYMENT header for the network's USDC (base-sepolia unless named), signed by `signer` (the buyer by default). */
export async function signedPayment(overrides: Partial<Authorization> = {}, options: { signer?: typeof BUYER_ACCOUNT; nonce?: number; network?: string } = {}): Promise<string> {
  const network = DEFAULT_NETWORKS.find((n) => n.name === (options.network ?? "base-sepolia"))!;
  const authorization: Authorization = {
    from: BUYER, to: PAY_TO, value: "1000", validAfter: String(NOW - 60n), validBefore: String(NOW + 300n),
    nonce: `0x${(options.nonce ?? 17).toString(16).padStart(64, "0")}`, ...overrides,
  };
  const signature = await (options.signer ?? BUYER_ACCOUNT).signTypedData({
    domain: { name: network.tokenName, version: network.tokenVersion, chainId: network.chainId, verifyingContract: network.asset },
    types: TRANSFER_WITH_AUTHORIZATION_TYPES, primaryType: "TransferWithAuthorization",
    message: { ...authorization, from: authorization.from as `0x${string}`, to: authorization.to as `0x${string}`, value: BigInt(authorization.value), validAfter: BigInt(authorization.validAfter), validBefore: BigInt(authorization.validBefore), nonce: authorization.nonce as `0x${string}` },
  });
  return Buffer.from(JSON.stringify({ x402Version: 1, scheme: "exact", network: network.name, payload: { signature, authorization } })).toString("base64");
}

type Scripted<T> = T | (() => T | Promise<T>);

/** A facilitator that answers what it is told and counts its calls. */
export function scripted(verify: Scripted<VerifyOutcome>, settle: Scripted<SettleOutcome>, resolve: Scripted<Resolution> = { kind: "unknown", message: "cannot tell" }) {
  const calls = { verify: 0, settle: 0, resolve: 0 };
  const run = async <T>(s: Scripted<T>) => (typeof s === "function" ? await (s as () => T | Promise<T>)() : s);
  const facilitator: Facilitator = {
    verify: async () => (calls.verify++, run(verify)),
    settle: async () => (calls.settle++, run(settle)),
    resolve: async () => (calls.resolve++, run(resolve)),
  };
  return { facilitator, calls };
}

export function verifierDeps(facilitator: Facilitator, overrides: Partial<VerifierDeps> = {}, route: PricedRoute = pricedRoute()): VerifierDeps {
  const table = buildRouteTable([{ pattern: route.pattern, value: route }]);
  return {
    routes: () => table, routeByKey: (key) => (key === route.key ? route : undefined), ready: () => true, facilitator, guard: memoryReplayGuard(), mode: "settle",
    nowSeconds: () => NOW, upstreamAuthorization: async () => ({ ok: true }), log: quiet, ...overrides,
  };
}

export const request = (headers: Record<string, string>) => (name: string) => headers[name] ?? null;
export const paidRequest = (payment: string, extra: Record<string, string> = {}) =>
  request({ "x-forwarded-uri": "/services/llm/v1/chat?x=1", "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com", "x-payment": payment, ...extra });

export const VALID: VerifyOutcome = { kind: "valid" };
export const SETTLED: SettleOutcome = { kind: "settled", transaction: `0x${"cd".repeat(32)}` };

export const OBOL = "0x0B01000000000000000000000000000000000b01";
/** A PaymentRoute's asset for an 18-decimal token paid through Permit2, as the controller writes it. */
export const OBOL_ASSET = { address: OBOL, symbol: "OBOL", decimals: 18, transferMethod: "permit2" };

export type Permit2Fields = { from: string; token: string; amount: string; spender: string; nonce: string; deadline: string; to: string; validAfter: string };

/**
 * A v2 PAYMENT-SIGNATURE header paying `route`'s first accept through Permit2, signed by
 * `signer` (the buyer by default) over Permit2's PermitWitnessTransferFrom, as the official
 * client signs it. `overrides` change what is signed; `accepted` what the buyer says it chose.
 */
export async function signedPermit2Payment(
  route: PricedRoute,
  overrides: Partial<Permit2Fields> = {},
  options: { signer?: typeof BUYER_ACCOUNT; accepted?: Record<string, unknown> } = {},
): Promise<string> {
  const accept = route.accepts[0]!;
  const p: Permit2Fields = {
    from: BUYER, token: accept.asset.address, amount: String(accept.amount), spender: EXACT_PERMIT2_PROXY_ADDRESS, nonce: "77",
    deadline: String(NOW + 300n), to: accept.payTo, validAfter: "0", ...overrides,
  };
  const signature = await (options.signer ?? BUYER_ACCOUNT).signTypedData({
    domain: { name: "Permit2", chainId: accept.network.chainId, verifyingContract: PERMIT2_ADDRESS },
    types: PERMIT_WITNESS_TRANSFER_FROM_TYPES, primaryType: "PermitWitnessTransferFrom",
    message: {
      permitted: { token: p.token as `0x${string}`, amount: BigInt(p.amount) }, spender: p.spender as `0x${string}`, nonce: BigInt(p.nonce),
      deadline: BigInt(p.deadline), witness: { to: p.to as `0x${string}`, validAfter: BigInt(p.validAfter) },
    },
  });
  const payload = {
    signature,
    permit2Authorization: { from: p.from, permitted: { token: p.token, amount: p.amount }, spender: p.spender, nonce: p.nonce, deadline: p.deadline, witness: { to: p.to, validAfter: p.validAfter } },
  };
  const body = { x402Version: 2, resource: { url: "https://api.example.com/services/llm/x" }, accepted: options.accepted ?? accept.v2Requirement, payload };
  return Buffer.from(JSON.stringify(body)).toString("base64");
}

export const paidRequestV2 = (payment: string) =>
  request({ "x-forwarded-uri": "/services/llm/v1/chat?x=1", "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com", "payment-signature": payment });

/** A v2 PAYMENT-SIGNATURE paying an upto `accept` (its maximum) through Permit2 and the upto proxy, as the official upto client signs it. */
export async function signedUptoPayment(accept: PricedAccept, overrides: { nonce?: string; facilitator?: string; amount?: string } = {}): Promise<string> {
  const p = {
    from: BUYER, token: accept.asset.address, amount: overrides.amount ?? String(accept.amount), spender: UPTO_PERMIT2_PROXY_ADDRESS, nonce: overrides.nonce ?? "501",
    deadline: String(NOW + 300n), to: accept.payTo, validAfter: "0", facilitator: overrides.facilitator ?? accept.facilitator!,
  };
  const signature = await BUYER_ACCOUNT.signTypedData({
    domain: { name: "Permit2", chainId: accept.network.chainId, verifyingContract: PERMIT2_ADDRESS },
    types: UPTO_PERMIT_WITNESS_TRANSFER_FROM_TYPES, primaryType: "PermitWitnessTransferFrom",
    message: {
      permitted: { token: p.token as `0x${string}`, amount: BigInt(p.amount) }, spender: p.spender as `0x${string}`, nonce: BigInt(p.nonce), deadline: BigInt(p.deadline),
      witness: { to: p.to as `0x${string}`, facilitator: p.facilitator as `0x${string}`, validAfter: BigInt(p.validAfter) },
    },
  });
  const payload = {
    signature,
    permit2Authorization: { from: p.from, permitted: { token: p.token, amount: p.amount }, spender: p.spender, nonce: p.nonce, deadline: p.deadline, witness: { to: p.to, facilitator: p.facilitator, validAfter: p.validAfter } },
  };
  return Buffer.from(JSON.stringify({ x402Version: 2, accepted: accept.v2Requirement, payload })).toString("base64");
}
