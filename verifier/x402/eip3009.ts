// The EIP-3009 "transferWithAuthorization" surface of USDC-like tokens: the typed data a
// buyer signs and the contract calls a facilitator makes.
import type { PricedAccept } from "../routes/priced-route.ts";
import type { Authorization } from "./payment-header.ts";

/** The authorization's fields: the EIP-712 struct a buyer signs, and the contract call's first arguments. */
const authorizationInputs = [
  { name: "from", type: "address" },
  { name: "to", type: "address" },
  { name: "value", type: "uint256" },
  { name: "validAfter", type: "uint256" },
  { name: "validBefore", type: "uint256" },
  { name: "nonce", type: "bytes32" },
] as const;

export const TRANSFER_WITH_AUTHORIZATION_TYPES = { TransferWithAuthorization: authorizationInputs } as const;

/** The token's own EIP-712 domain (the accept's asset carries it whenever it is paid by EIP-3009). */
export function typedDataFor({ network, asset }: Pick<PricedAccept, "network" | "asset">, authorization: Authorization) {
  return {
    domain: { name: asset.eip712Name ?? "", version: asset.eip712Version ?? "", chainId: network.chainId, verifyingContract: asset.address },
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: "TransferWithAuthorization" as const,
    message: authorization,
  };
}

/** The two overloads apart, so each encodes without ambiguity: (v, r, s) for 65-byte signatures, bytes otherwise. */
export const TRANSFER_VRS_ABI = [{
  type: "function", name: "transferWithAuthorization", stateMutability: "nonpayable", outputs: [],
  inputs: [...authorizationInputs, { name: "v", type: "uint8" }, { name: "r", type: "bytes32" }, { name: "s", type: "bytes32" }],
}] as const;
export const TRANSFER_BYTES_ABI = [{
  type: "function", name: "transferWithAuthorization", stateMutability: "nonpayable", outputs: [],
  inputs: [...authorizationInputs, { name: "signature", type: "bytes" }],
}] as const;

export const EIP3009_ABI = [
  {
    type: "function", name: "authorizationState", stateMutability: "view",
    inputs: [{ name: "authorizer", type: "address" }, { name: "nonce", type: "bytes32" }], outputs: [{ name: "", type: "bool" }],
  },
  {
    type: "function", name: "balanceOf", stateMutability: "view",
    inputs: [{ name: "account", type: "address" }], outputs: [{ name: "", type: "uint256" }],
  },
] as const;

/** What the token logs when an authorization is used or canceled, and the transfer itself. */
export const EIP3009_EVENTS = [
  { type: "event", name: "AuthorizationUsed", inputs: [{ name: "authorizer", type: "address", indexed: true }, { name: "nonce", type: "bytes32", indexed: true }] },
  { type: "event", name: "AuthorizationCanceled", inputs: [{ name: "authorizer", type: "address", indexed: true }, { name: "nonce", type: "bytes32", indexed: true }] },
  {
    type: "event", name: "Transfer",
    inputs: [{ name: "from", type: "address", indexed: true }, { name: "to", type: "address", indexed: true }, { name: "value", type: "uint256", indexed: false }],
  },
] as const;
