// Permit2 and the x402 exact Permit2 proxy: canonical on every chain, as @x402/evm exports
// them (docs/permit2-facts.md). Tokens sent to any of them are lost: none can pass them on.
export const PERMIT2_ADDRESS = "0x000000000022D473030F116dDEE9F6B43aC78BA3";
export const EXACT_PERMIT2_PROXY_ADDRESS = "0x402085c248EeA27D92E8b30b2C58ed07f9E20001";
/** The x402 upto Permit2 proxy (metered payments): not a payee either. */
export const UPTO_PERMIT2_PROXY_ADDRESS = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";

/** The contracts of the Permit2 path, which are neither tokens nor payees. */
export const PERMIT2_CONTRACTS: readonly string[] = [PERMIT2_ADDRESS, EXACT_PERMIT2_PROXY_ADDRESS, UPTO_PERMIT2_PROXY_ADDRESS].map((a) => a.toLowerCase());
