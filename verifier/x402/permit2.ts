// The Permit2 surface of the exact scheme: the typed data a buyer signs (Permit2's
// PermitWitnessTransferFrom with the x402 exact witness), the proxy's settle call, and the
// reads a facilitator makes (docs/permit2-facts.md has the facts and their source).
import { EXACT_PERMIT2_PROXY_ADDRESS, PERMIT2_ADDRESS, UPTO_PERMIT2_PROXY_ADDRESS } from "../../core/permit2.ts";
import type { Network } from "../../core/networks.ts";
import type { PaymentAttempt } from "./payment-header.ts";

export const PERMIT2 = PERMIT2_ADDRESS as `0x${string}`;
export const EXACT_PROXY = EXACT_PERMIT2_PROXY_ADDRESS as `0x${string}`;
export const UPTO_PROXY = UPTO_PERMIT2_PROXY_ADDRESS as `0x${string}`;

export const PERMIT_WITNESS_TRANSFER_FROM_TYPES = {
  PermitWitnessTransferFrom: [
    { name: "permitted", type: "TokenPermissions" },
    { name: "spender", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
    { name: "witness", type: "Witness" },
  ],
  TokenPermissions: [{ name: "token", type: "address" }, { name: "amount", type: "uint256" }],
  Witness: [{ name: "to", type: "address" }, { name: "validAfter", type: "uint256" }],
} as const;

/** upto's witness names the facilitator too. */
export const UPTO_PERMIT_WITNESS_TRANSFER_FROM_TYPES = {
  ...PERMIT_WITNESS_TRANSFER_FROM_TYPES,
  Witness: [{ name: "to", type: "address" }, { name: "facilitator", type: "address" }, { name: "validAfter", type: "uint256" }],
} as const;

/** A Permit2 payment: `payment.permit2` is set. */
export type Permit2Payment = PaymentAttempt & { permit2: NonNullable<PaymentAttempt["permit2"]> };

export function isPermit2(payment: PaymentAttempt): payment is Permit2Payment {
  return payment.method === "permit2" && payment.permit2 !== undefined;
}

export function permit2TypedData(network: Network, payment: Permit2Payment) {
  const { authorization: a, permit2 } = payment;
  const message = { permitted: { token: permit2.token, amount: a.value }, spender: permit2.spender, nonce: permit2.nonce, deadline: a.validBefore };
  // Permit2's domain has no version.
  const domain = { name: "Permit2", chainId: network.chainId, verifyingContract: PERMIT2 };
  const primaryType = "PermitWitnessTransferFrom" as const;
  if (permit2.facilitator !== undefined) {
    return { domain, primaryType, types: UPTO_PERMIT_WITNESS_TRANSFER_FROM_TYPES, message: { ...message, witness: { to: a.to, facilitator: permit2.facilitator, validAfter: a.validAfter } } };
  }
  return { domain, primaryType, types: PERMIT_WITNESS_TRANSFER_FROM_TYPES, message: { ...message, witness: { to: a.to, validAfter: a.validAfter } } };
}

/** The proxy's settle arguments: (permit, owner, witness, signature). */
export function proxySettleArgs(payment: Permit2Payment) {
  const { authorization: a, permit2 } = payment;
  return [
    { permitted: { token: permit2.token, amount: a.value }, nonce: permit2.nonce, deadline: a.validBefore },
    a.from,
    { to: a.to, validAfter: a.validAfter },
    payment.signature,
  ] as const;
}

/** Both proxies' first argument: Permit2's PermitTransferFrom. */
const PERMIT_INPUT = {
  name: "permit", type: "tuple", components: [
    { name: "permitted", type: "tuple", components: [{ name: "token", type: "address" }, { name: "amount", type: "uint256" }] },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export const EXACT_PROXY_ABI = [{
  type: "function", name: "settle", stateMutability: "nonpayable", outputs: [],
  inputs: [
    PERMIT_INPUT,
    { name: "owner", type: "address" },
    { name: "witness", type: "tuple", components: [{ name: "to", type: "address" }, { name: "validAfter", type: "uint256" }] },
    { name: "signature", type: "bytes" },
  ],
}] as const;

/** upto: settle(permit, amount, owner, witness, signature), amount at most the permit's. */
export function uptoSettleArgs(payment: Permit2Payment, amount: bigint) {
  const { authorization: a, permit2 } = payment;
  return [
    { permitted: { token: permit2.token, amount: a.value }, nonce: permit2.nonce, deadline: a.validBefore },
    amount,
    a.from,
    { to: a.to, facilitator: permit2.facilitator!, validAfter: a.validAfter },
    payment.signature,
  ] as const;
}

export const UPTO_PROXY_ABI = [{
  type: "function", name: "settle", stateMutability: "nonpayable", outputs: [],
  inputs: [
    PERMIT_INPUT,
    { name: "amount", type: "uint256" },
    { name: "owner", type: "address" },
    { name: "witness", type: "tuple", components: [{ name: "to", type: "address" }, { name: "facilitator", type: "address" }, { name: "validAfter", type: "uint256" }] },
    { name: "signature", type: "bytes" },
  ],
}] as const;

export const PERMIT2_ABI = [
  {
    type: "function", name: "nonceBitmap", stateMutability: "view",
    inputs: [{ name: "owner", type: "address" }, { name: "wordPos", type: "uint256" }], outputs: [{ name: "", type: "uint256" }],
  },
  {
    type: "event", name: "UnorderedNonceInvalidation",
    inputs: [{ name: "owner", type: "address", indexed: true }, { name: "word", type: "uint256", indexed: false }, { name: "mask", type: "uint256", indexed: false }],
  },
] as const;

export const ERC20_ABI = [
  {
    type: "function", name: "balanceOf", stateMutability: "view",
    inputs: [{ name: "account", type: "address" }], outputs: [{ name: "", type: "uint256" }],
  },
  {
    type: "function", name: "allowance", stateMutability: "view",
    inputs: [{ name: "owner", type: "address" }, { name: "spender", type: "address" }], outputs: [{ name: "", type: "uint256" }],
  },
] as const;

/** Permit2 keeps unordered nonces in a bitmap: word nonce >> 8, bit nonce & 0xff. */
export function nonceSlot(nonce: bigint): { word: bigint; bit: bigint } {
  return { word: nonce >> 8n, bit: 1n << (nonce & 0xffn) };
}
