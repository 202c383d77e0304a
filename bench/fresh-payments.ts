// Payments for paid benchmarks: each call signs a fresh x402 v1 X-PAYMENT header (0.001 USDC
// on base-sepolia to `payTo`, a random nonce), the buyers taking turns.
import { randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import { privateKeyToAccount } from "viem/accounts";
import { DEFAULT_NETWORKS, findNetwork } from "../core/networks.ts";
import type { Chain } from "../dev/chain/chain.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../verifier/x402/eip3009.ts";

export function freshPayments(chain: Chain, payTo: `0x${string}`, buyerIndexes: readonly number[] = [2, 3, 4, 5, 6, 7, 8]): () => Promise<string> {
  const network = findNetwork(DEFAULT_NETWORKS, "base-sepolia")!;
  const buyers = buyerIndexes.map((i) => privateKeyToAccount(chain.accounts[i]!.privateKey));
  let next = 0;
  return async () => {
    const buyer = buyers[next++ % buyers.length]!;
    const message = { from: buyer.address, to: payTo, value: 1000n, validAfter: 0n, validBefore: BigInt(Math.floor(Date.now() / 1000)) + 600n, nonce: `0x${randomBytes(32).toString("hex")}` as `0x${string}` };
    const signature = await buyer.signTypedData({
      domain: { name: network.tokenName, version: network.tokenVersion, chainId: network.chainId, verifyingContract: network.asset },
      types: TRANSFER_WITH_AUTHORIZATION_TYPES, primaryType: "TransferWithAuthorization", message,
    });
    return Buffer.from(JSON.stringify({
      x402Version: 1, scheme: "exact", network: "base-sepolia",
      payload: { signature, authorization: { ...message, value: "1000", validAfter: "0", validBefore: String(message.validBefore) } },
    })).toString("base64");
  };
}
