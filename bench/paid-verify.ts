// Valid payments verified per second in verify-only mode, through the whole decision
// (decode, checks, replay guard, local facilitator on a real chain), against bare EIP-712
// signature recoveries per second in the same process: the floor every verifier pays.
import { randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import * as v from "valibot";
import { recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { jsonLogger } from "../adapters/log.ts";
import { DEFAULT_NETWORKS, findNetwork } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import { startChain } from "../dev/chain/chain.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../verifier/x402/eip3009.ts";
import { chainClients } from "../verifier/x402/chain-clients.ts";
import { localFacilitator } from "../verifier/x402/facilitator-local.ts";
import type { VerifierDeps } from "../verifier/deps.ts";
import { forwardAuth } from "../verifier/forward-auth.ts";
import { priceRoute } from "../verifier/routes/priced-route.ts";
import { memoryReplayGuard } from "../verifier/replay-guard.ts";
import { buildRouteTable } from "../verifier/routes/table.ts";
import { figure, type Figure, round } from "./stats.ts";

const PAYMENTS = 200;
const CONCURRENCY = 16;

export async function paidVerifyFigures(rounds: number): Promise<Figure[]> {
  const chain = await startChain();
  try {
    const payTo = chain.accounts[9]!.address;
    const buyer = privateKeyToAccount(chain.accounts[2]!.privateKey);
    const network = findNetwork(DEFAULT_NETWORKS, "base-sepolia")!;
    const routePriced = priceRoute(v.parse(PaymentRouteSchema, {
      apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "bench", namespace: "bench" },
      spec: { pattern: "/paid/*", price: "0.001", amount: "1000", payTo, network: "base-sepolia", priceModel: "perRequest" },
    }), DEFAULT_NETWORKS);
    if (!routePriced.ok) throw new Error(routePriced.issue.message);
    const route = routePriced.route;
    const table = buildRouteTable([{ pattern: "/paid/*", value: route }]);
    const quiet = jsonLogger({}, () => {});
    const deps = (): VerifierDeps => ({
      routes: () => table, facilitator: localFacilitator(chainClients({ rpcUrls: { "base-sepolia": chain.rpcUrl } })), guard: memoryReplayGuard(),
      mode: "verify-only", nowSeconds: () => BigInt(Math.floor(Date.now() / 1000)), upstreamAuthorization: async () => ({ ok: true }), log: quiet,
    });
    const domain = { name: network.tokenName, version: network.tokenVersion, chainId: network.chainId, verifyingContract: network.asset };
    const sign = async () => {
      const now = BigInt(Math.floor(Date.now() / 1000));
      const message = { from: buyer.address, to: payTo, value: 1000n, validAfter: 0n, validBefore: now + 300n, nonce: `0x${randomBytes(32).toString("hex")}` as `0x${string}` };
      const signature = await buyer.signTypedData({ domain, types: TRANSFER_WITH_AUTHORIZATION_TYPES, primaryType: "TransferWithAuthorization", message });
      const header = Buffer.from(JSON.stringify({
        x402Version: 1, scheme: "exact", network: "base-sepolia",
        payload: { signature, authorization: { ...message, value: "1000", validAfter: "0", validBefore: String(message.validBefore) } },
      })).toString("base64");
      return { header, message, signature };
    };

    const ratios: number[] = [];
    let last = { verified: 0, recovered: 0 };
    for (let r = 0; r < rounds; r++) {
      const payments = await Promise.all(Array.from({ length: PAYMENTS }, sign));
      const d = deps();
      let next = 0;
      let ok = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < payments.length) {
          const { header } = payments[next++]!;
          const { answer } = await forwardAuth((name) => (name === "x-forwarded-uri" ? "/paid/x" : name === "x-payment" ? header : null), d);
          if (answer.status === 200) ok++;
        }
      }));
      const verified = (ok / (performance.now() - started)) * 1000;
      if (ok !== payments.length) throw new Error(`only ${ok} of ${payments.length} payments verified`);
      const recoverStarted = performance.now();
      for (const { message, signature } of payments) {
        await recoverTypedDataAddress({ domain, types: TRANSFER_WITH_AUTHORIZATION_TYPES, primaryType: "TransferWithAuthorization", message, signature });
      }
      const recovered = (payments.length / (performance.now() - recoverStarted)) * 1000;
      last = { verified, recovered };
      ratios.push(verified / recovered);
    }
    return [figure("paid_verify_vs_recover_floor", "payments verified/s (verify-only, local chain) / bare EIP-712 recoveries/s", ">= 0.6", ratios.map((x) => round(x)), {
      note: `last round: ${Math.round(last.verified)} verified/s, ${Math.round(last.recovered)} recoveries/s`,
    })];
  } finally {
    await chain.stop();
  }
}
