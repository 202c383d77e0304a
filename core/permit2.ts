// Permit2 and the x402 exact Permit2 proxy: canonical on every chain, as @x402/evm exports
// them (docs/permit2-facts.md). Tokens sent to either are lost: neither can pass them on.
export const PERMIT2_ADDRESS = "0x000000000022D473030F116dDEE9F6B43aC78BA3";
export const EXACT_PERMIT2_PROXY_ADDRESS = "0x402085c248EeA27D92E8b30b2C58ed07f9E20001";
