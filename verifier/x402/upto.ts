// Metered payments, x402 `upto`: the buyer authorizes a maximum through Permit2 and the
// upto proxy, and is charged what its request used, never more (routes/metering.ts).
import { caip2 } from "../../core/networks.ts";
import { type Metering, tokenCost } from "../routes/metering.ts";
import { eip712Extra, type PricedAccept } from "../routes/priced-route.ts";

/**
 * The upto accept for one request: the route's token through Permit2, at most `maxTokens`'
 * worth, to be settled by `facilitator` (the account the buyer's permit names), after `base`
 * (the route's own accept) in the 402.
 */
export function uptoAccept(base: PricedAccept, metering: Metering, maxTokens: number, facilitator: `0x${string}`): PricedAccept {
  const amount = tokenCost(metering, maxTokens);
  const { asset, network } = base;
  // Key order is part of the bytes: keep it fixed.
  const v2Requirement = {
    scheme: "upto",
    network: caip2(network),
    amount: amount.toString(),
    asset: asset.address,
    payTo: base.payTo,
    maxTimeoutSeconds: base.maxTimeoutSeconds,
    extra: { ...eip712Extra(asset), assetTransferMethod: "permit2", facilitatorAddress: facilitator },
  };
  return {
    scheme: "upto",
    network,
    asset: { ...asset, transferMethod: "permit2" },
    amount,
    payTo: base.payTo,
    maxTimeoutSeconds: base.maxTimeoutSeconds,
    v2Requirement,
    v2RequirementJson: JSON.stringify(v2Requirement),
    facilitator,
  };
}
