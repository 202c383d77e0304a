// Reading a buyer's payment header: X-PAYMENT (x402 v1) or PAYMENT-SIGNATURE (x402 v2),
// both base64 JSON. Anything malformed is refused here with a reason, before any
// signature math or network call is spent on it.
import * as v from "valibot";
import { ADDRESS_PATTERN } from "../../core/pay-to.ts";
import { Buffer } from "node:buffer";
import { formatFieldIssues, toFieldIssues } from "../../core/field-issues.ts";
import { MAX_UINT256 } from "../../core/payment-route.ts";

/** Far above any honest payment (~600 bytes), far below what could hurt. */
export const MAX_PAYMENT_HEADER_LENGTH = 8192;

const BASE64 = /^[A-Za-z0-9+/\-_]+={0,2}$/;
const address = v.pipe(v.string(), v.regex(ADDRESS_PATTERN, "must be an address"));
const uint256 = v.pipe(v.string(), v.regex(/^\d{1,78}$/, "must be a decimal integer string"));
const hex = v.pipe(v.string(), v.regex(/^0x([0-9a-fA-F]{2}){1,4096}$/, "must be 0x-prefixed hex bytes"));

// Strict: a field we do not check must not reach a facilitator, which may act on it (the
// official one switches to Permit2 when a payload carries "permit2Authorization").
const AuthorizationSchema = v.strictObject({
  from: address,
  to: address,
  value: uint256,
  validAfter: uint256,
  validBefore: uint256,
  nonce: v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of hex")),
});
const ExactPayloadSchema = v.strictObject({ signature: hex, authorization: AuthorizationSchema });
// The exact scheme's Permit2 transfer (x402 v2 only): what the official client sends (docs/permit2-facts.md).
const Permit2PayloadSchema = v.strictObject({
  signature: hex,
  permit2Authorization: v.strictObject({
    from: address,
    permitted: v.strictObject({ token: address, amount: uint256 }),
    spender: address,
    nonce: uint256,
    deadline: uint256,
    // upto's witness also names the facilitator allowed to settle it.
    witness: v.strictObject({ to: address, validAfter: uint256, facilitator: v.optional(address) }),
  }),
});

const V1Schema = v.object({
  x402Version: v.literal(1),
  scheme: v.string(),
  network: v.string(),
  payload: ExactPayloadSchema,
});
const V2Schema = v.object({
  x402Version: v.literal(2),
  accepted: v.looseObject({ scheme: v.string(), network: v.string() }),
  payload: v.union([ExactPayloadSchema, Permit2PayloadSchema]),
  resource: v.optional(v.unknown()),
  extensions: v.optional(v.unknown()),
});
const PaymentSchema = v.variant("x402Version", [V1Schema, V2Schema]);

export type Authorization = {
  from: `0x${string}`;
  to: `0x${string}`;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: `0x${string}`;
};

/** A Permit2 payment's own terms; its common ones are in `authorization` (see decodePaymentHeader). */
export type Permit2Terms = { token: `0x${string}`; spender: `0x${string}`; nonce: bigint; facilitator?: `0x${string}` };

export type PaymentAttempt = {
  version: 1 | 2;
  /**
   * How the buyer's signature moves the money. For Permit2, `authorization` holds the same
   * terms under EIP-3009's names: from = owner, to = witness.to, value = permitted.amount,
   * validAfter = witness.validAfter, validBefore = deadline, nonce = the nonce as 32 bytes.
   */
  method: "eip3009" | "permit2";
  permit2?: Permit2Terms;
  scheme: string;
  /** As the buyer named it: "base-sepolia" in v1, "eip155:84532" in v2. */
  network: string;
  authorization: Authorization;
  signature: `0x${string}`;
  /** v2: the requirement the buyer says it accepted, to compare with ours. */
  accepted?: Record<string, unknown>;
};

export type HeaderResult = { ok: true; payment: PaymentAttempt } | { ok: false; reason: string };

export function decodePaymentHeader(header: string, expectedVersion: 1 | 2): HeaderResult {
  if (header.length > MAX_PAYMENT_HEADER_LENGTH) return { ok: false, reason: `payment header longer than ${MAX_PAYMENT_HEADER_LENGTH} characters` };
  const compact = header.trim();
  if (!BASE64.test(compact)) return { ok: false, reason: "payment header is not base64" };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(compact, "base64").toString("utf8"));
  } catch {
    return { ok: false, reason: "payment header is not base64-encoded JSON" };
  }
  const parsed = v.safeParse(PaymentSchema, json);
  if (!parsed.success) return { ok: false, reason: `invalid payment payload: ${formatFieldIssues(toFieldIssues("payment", parsed.issues))}` };
  const payment = parsed.output;
  if (payment.x402Version !== expectedVersion) {
    return { ok: false, reason: `x402Version ${payment.x402Version} sent in the x402 v${expectedVersion} header` };
  }
  const { signature } = payment.payload;
  const common = {
    version: payment.x402Version,
    scheme: payment.x402Version === 1 ? payment.scheme : payment.accepted.scheme,
    network: payment.x402Version === 1 ? payment.network : payment.accepted.network,
    signature: signature as `0x${string}`,
    accepted: payment.x402Version === 2 ? payment.accepted : undefined,
  };
  if ("permit2Authorization" in payment.payload) {
    const p = payment.payload.permit2Authorization;
    const nonce = BigInt(p.nonce);
    if (nonce > MAX_UINT256) return { ok: false, reason: "invalid payment payload: payment.payload.permit2Authorization.nonce: must fit 256 bits" };
    return {
      ok: true,
      payment: {
        ...common,
        method: "permit2",
        permit2: {
          token: p.permitted.token as `0x${string}`, spender: p.spender as `0x${string}`, nonce,
          ...(p.witness.facilitator !== undefined ? { facilitator: p.witness.facilitator as `0x${string}` } : {}),
        },
        authorization: {
          from: p.from as `0x${string}`,
          to: p.witness.to as `0x${string}`,
          value: BigInt(p.permitted.amount),
          validAfter: BigInt(p.witness.validAfter),
          validBefore: BigInt(p.deadline),
          nonce: `0x${nonce.toString(16).padStart(64, "0")}`,
        },
      },
    };
  }
  const a = payment.payload.authorization;
  return {
    ok: true,
    payment: {
      ...common,
      method: "eip3009",
      authorization: {
        from: a.from as `0x${string}`,
        to: a.to as `0x${string}`,
        value: BigInt(a.value),
        validAfter: BigInt(a.validAfter),
        validBefore: BigInt(a.validBefore),
        nonce: a.nonce as `0x${string}`,
      },
    },
  };
}