// Which facilitator the verifier uses, and what it may read from chains: the RPC URLs
// (--rpc) serve the local facilitator, and, beside a remote one, find out exactly whether
// an unknown settlement landed and whether a payer is a smart wallet.
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { nonceManager } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { KubeClient } from "../kube/client.ts";
import { RESOURCES, resourcePath } from "../kube/resources.ts";
import { registerSecret } from "../adapters/log.ts";
import type { Network } from "../core/networks.ts";
import { chainClients } from "../verifier/x402/chain-clients.ts";
import type { Facilitator } from "../verifier/x402/facilitator.ts";
import { localFacilitator } from "../verifier/x402/facilitator-local.ts";
import { remoteFacilitator } from "../verifier/x402/facilitator-remote.ts";
import { resolveWithChains } from "../verifier/x402/settlement-resolver.ts";
import { contractCheck } from "../verifier/x402/wallet-check.ts";
import { UsageError } from "./config-flags.ts";

export type FacilitatorFlags = { rpc?: string[]; "settlement-key-file"?: string; "settlement-key-secret"?: string };

export type FacilitatorChoice = {
  facilitator: Facilitator;
  /** Present when a chain can be read for the route's network. */
  isContract?(network: Network, address: `0x${string}`): Promise<boolean>;
  /** How unknown outcomes are resolved, for the startup log. */
  resolution: string;
};

export async function chooseFacilitator(choice: string, flags: FacilitatorFlags, env: NodeJS.ProcessEnv, verifyOnly: boolean, client: KubeClient | undefined): Promise<FacilitatorChoice> {
  const rpcUrls = parseRpcUrls([...(flags.rpc ?? []), ...(env.X402_RPC?.split(",") ?? [])]);
  const hasRpc = Object.keys(rpcUrls).length > 0;
  const key = choice === "local" && hasRpc && !verifyOnly ? await settlementKey(flags, env, client) : undefined;
  // One set of clients for every chain read and settlement. One settlement account, many
  // settlements at once: a nonce manager gives each its own account nonce.
  const chains = chainClients({ rpcUrls, settlementAccount: key ? privateKeyToAccount(key, { nonceManager }) : undefined });
  const isContract = hasRpc ? contractCheck(chains) : undefined;
  if (choice !== "local") {
    let remote: Facilitator;
    try {
      remote = remoteFacilitator({ url: choice });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (!hasRpc) {
      return { facilitator: remote, resolution: "by asking the facilitator only: a payment that landed stays unknown (503) until --rpc lets the chain tell" };
    }
    const resolve: Facilitator["resolve"] = async (context) => (await resolveWithChains(chains, context)) ?? remote.resolve(context);
    return { facilitator: { ...remote, resolve }, isContract, resolution: "on chain, where an RPC is given" };
  }
  if (!hasRpc) throw new UsageError("--facilitator local needs --rpc NETWORK=URL for each network it serves");
  return { facilitator: localFacilitator(chains), isContract, resolution: "on chain" };
}

function parseRpcUrls(pairs: string[]): Record<string, string> {
  const rpcUrls: Record<string, string> = {};
  for (const pair of pairs) {
    const [network, url] = pair.split(/=(.*)/s).map((s) => s.trim());
    if (!network || !url || !URL.canParse(url)) throw new UsageError(`--rpc must be NETWORK=URL, got "${pair}"`);
    rpcUrls[network] ??= url;
  }
  return rpcUrls;
}

async function settlementKey(flags: FacilitatorFlags, env: NodeJS.ProcessEnv, client: KubeClient | undefined): Promise<`0x${string}`> {
  const file = flags["settlement-key-file"] ?? env.X402_SETTLEMENT_KEY_FILE;
  const secret = flags["settlement-key-secret"] ?? env.X402_SETTLEMENT_KEY_SECRET;
  let text: string;
  if (file) text = readFileSync(file, "utf8");
  else if (secret && client) {
    const [namespace, name, key] = secret.split("/");
    if (!namespace || !name || !key) throw new UsageError("--settlement-key-secret must be NAMESPACE/NAME/KEY");
    const object = await client.request<{ data?: Record<string, string> }>("GET", resourcePath(RESOURCES.Secret, namespace, name));
    text = Buffer.from(object.data?.[key] ?? "", "base64").toString("utf8");
  } else throw new UsageError("settling with --facilitator local needs --settlement-key-file or --settlement-key-secret (or use --verify-only)");
  const trimmed = text.trim();
  registerSecret(trimmed);
  const hex = trimmed.startsWith("0x") ? trimmed : `0x${trimmed}`;
  // Never echo the key: the message names only what is wrong with it.
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new UsageError("the settlement key must be 32 bytes of hex");
  return hex as `0x${string}`;
}
