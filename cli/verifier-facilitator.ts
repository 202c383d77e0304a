// The verifier's facilitator flags: RPC URLs per network, and where the local facilitator's
// settlement key comes from (a file, or a Secret in cluster mode). The key is registered
// with the logger as a secret the moment it is read, and never echoed.
import { readFileSync } from "node:fs";
import { registerSecret } from "../adapters/log.ts";
import type { KubeClient } from "../kube/client.ts";
import { readSecret } from "../kube/secrets.ts";
import { chooseFacilitator, type ChosenFacilitator } from "../verifier/x402/choose-facilitator.ts";
import { UsageError } from "./config-flags.ts";

export type FacilitatorFlags = { rpc?: string[]; "settlement-key-file"?: string; "settlement-key-secret"?: string };

export async function facilitatorFromFlags(choice: string, flags: FacilitatorFlags, env: NodeJS.ProcessEnv, verifyOnly: boolean, client: KubeClient | undefined): Promise<ChosenFacilitator> {
  const rpcUrls = parseRpcUrls([...(flags.rpc ?? []), ...(env.X402_RPC?.split(",") ?? [])]);
  const hasRpc = Object.keys(rpcUrls).length > 0;
  const settlementKey = choice === "local" && hasRpc && !verifyOnly ? await readSettlementKey(flags, env, client) : undefined;
  try {
    return chooseFacilitator({ facilitator: choice, rpcUrls, settlementKey });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
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

async function readSettlementKey(flags: FacilitatorFlags, env: NodeJS.ProcessEnv, client: KubeClient | undefined): Promise<`0x${string}`> {
  const file = flags["settlement-key-file"] ?? env.X402_SETTLEMENT_KEY_FILE;
  const secret = flags["settlement-key-secret"] ?? env.X402_SETTLEMENT_KEY_SECRET;
  let text: string;
  if (file) text = readFileSync(file, "utf8");
  else if (secret && client) {
    const [namespace, name, key] = secret.split("/");
    if (!namespace || !name || !key) throw new UsageError("--settlement-key-secret must be NAMESPACE/NAME/KEY");
    const secretData = await readSecret(client, namespace, name);
    if (!secretData) throw new UsageError(`--settlement-key-secret: Secret ${namespace}/${name} not found`);
    if (secretData[key] === undefined) throw new UsageError(`--settlement-key-secret: Secret ${namespace}/${name} has no key "${key}"`);
    text = secretData[key];
  } else throw new UsageError("settling with --facilitator local needs --settlement-key-file or --settlement-key-secret (or use --verify-only)");
  const trimmed = text.trim();
  registerSecret(trimmed);
  const hex = trimmed.startsWith("0x") ? trimmed : `0x${trimmed}`;
  // Never echo the key: the message names only what is wrong with it.
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new UsageError("the settlement key must be 32 bytes of hex");
  return hex as `0x${string}`;
}
