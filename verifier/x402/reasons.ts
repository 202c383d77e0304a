// The x402 error vocabulary in one place, like x402's own errors.ts: the reasons the
// verifier gives buyers, the facilitator reasons that prove a settlement moved no money,
// and the fixed set of reason labels metrics use (a facilitator's free text never becomes
// a label: 5,000 distinct strings would be 5,000 series).

/** Reasons the verifier itself gives in a 402 (the names x402's clients know). */
export const REASON = {
  unsupportedScheme: "unsupported_scheme",
  invalidNetwork: "invalid_network",
  invalidRequirements: "invalid_payment_requirements",
  recipientMismatch: "invalid_exact_evm_payload_recipient_mismatch",
  valueMismatch: "invalid_exact_evm_payload_authorization_value",
  validAfter: "invalid_exact_evm_payload_authorization_valid_after",
  validBefore: "invalid_exact_evm_payload_authorization_valid_before",
  signature: "invalid_exact_evm_payload_signature",
  alreadyUsed: "payment_already_used",
  insufficientFunds: "insufficient_funds",
  invalidPayment: "invalid_payment",
  /** Permit2 (the names @x402/evm's exact facilitator gives). */
  permit2Spender: "invalid_permit2_spender",
  permit2Token: "permit2_token_mismatch",
  permit2Allowance: "permit2_allowance_required",
  permit2Facilitator: "upto_facilitator_mismatch",
  /** A payment by a transfer method the accept it names does not use. */
  transferMethod: "invalid_exact_evm_payload_transfer_method",
  /** The local facilitator's simulation of the transfer failed: nothing was sent. */
  simulationFailed: "invalid_exact_evm_transaction_simulation_failed",
} as const;

/** A used nonce: on a first attempt someone else used the authorization; after an unknown outcome it may have been us. */
export const NONCE_USED = new Set(["invalid_exact_evm_nonce_already_used", REASON.alreadyUsed, "duplicate_settlement", "permit2_invalid_nonce"]);

/**
 * Refusals of a first attempt that may hide a used nonce, so the chain is asked whether this very
 * payment landed before its hold was lost: the official upto facilitator reports a used Permit2
 * nonce as a failed simulation (Permit2's revert, not decoded), as the interop suite shows.
 */
export const MAYBE_NONCE_USED = new Set([...NONCE_USED, "permit2_simulation_failed"]);

/**
 * A settlement refused for one of these reasons moved no money: the facilitator refused
 * before sending, or a simulation failed. The buyer gets 402 and may pay again. Any other
 * answer (a reverted or pending transaction, "transaction_failed", which the official
 * facilitator also gives when it threw after broadcasting, free text, an error page) may
 * have moved money and is an unknown outcome: 503, the hold kept.
 */
export const DEFINITE_SETTLE_FAILURES = new Set([
  ...Object.values(REASON),
  ...NONCE_USED,
  // x402 v1 (x402/types ErrorReasons)
  "invalid_exact_evm_payload_undeployed_smart_wallet", "invalid_payload", "invalid_scheme", "payment_expired", "invalid_x402_version",
  // @x402/evm exact facilitator (src/exact/facilitator/errors.ts)
  "invalid_exact_evm_scheme", "invalid_exact_evm_network_mismatch", "invalid_exact_evm_missing_eip712_domain", "invalid_exact_evm_recipient_mismatch",
  "invalid_exact_evm_signature", "invalid_exact_evm_authorization_value", "invalid_exact_evm_payload_authorization_value_mismatch",
  "invalid_exact_evm_token_name_mismatch", "invalid_exact_evm_token_version_mismatch", "invalid_exact_evm_eip3009_not_supported",
  "invalid_exact_evm_insufficient_balance", "invalid_exact_evm_transaction_simulation_failed", "invalid_exact_evm_failed_to_parse_signature",
  "unsupported_payload_type", "eip6492_factory_not_allowed", "smart_wallet_deployment_failed", "asset_not_deployed_contract",
  // Its Permit2 path: verify's reasons, and the proxy's and Permit2's reverts it decodes, which
  // come only from estimating the transaction, before it is sent (a reverted receipt is
  // "transaction_failed"). Read from @x402/evm 2.27's exact facilitator (docs/permit2-facts.md).
  "invalid_permit2_recipient_mismatch", "permit2_deadline_expired", "permit2_not_yet_valid", "permit2_amount_mismatch",
  "invalid_permit2_signature", "permit2_insufficient_balance", "permit2_simulation_failed", "permit2_invalid_amount",
  "permit2_invalid_destination", "permit2_invalid_owner", "permit2_payment_too_early", "permit2_proxy_not_deployed",
]);

/**
 * Whether a settlement refused for `reason` moved no money. Never on a retry after an unknown
 * outcome: a used nonce, a short balance or allowance, a failed simulation may all be our own
 * earlier transfer landing.
 */
export function settleFailureIsDefinite(reason: string, retry: boolean | undefined): boolean {
  return !retry && DEFINITE_SETTLE_FAILURES.has(reason);
}

/** Known, but not proof of anything: they keep a payment's outcome unknown. */
const AMBIGUOUS = ["settlement_pending", "invalid_transaction_state", "invalid_exact_evm_transaction_failed", "invalid_exact_evm_transfer_event_mismatch", "unexpected_settle_error", "unexpected_verify_error"];

/** Our own outcomes that are not x402 reasons but are counted. */
const OURS = ["settlement_unknown", "verification_unavailable", "internal_error"];

const LABELS = new Set([...DEFINITE_SETTLE_FAILURES, ...AMBIGUOUS, ...OURS]);

/** The label a reason is counted under: itself when known, else "other". */
export function metricReason(reason: string): string {
  return LABELS.has(reason) ? reason : "other";
}

const PRINTABLE_LIMIT = 200;

/** A facilitator's text, fit to show a buyer: printable, and short enough for a header. */
export function sanitizeReason(text: unknown, fallback: string): string {
  const value = typeof text === "string" ? text : fallback;
  // deno-lint-ignore no-control-regex
  const printable = value.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return (printable || fallback).slice(0, PRINTABLE_LIMIT);
}
