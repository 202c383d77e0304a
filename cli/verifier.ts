// `verifier`: the x402 ForwardAuth service, from a routes file or from the cluster.
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { privateKeyToAccount } from "viem/accounts";
import { kubeClient } from "../adapters/k8s/client.ts";
import { loadClusterAccess } from "../adapters/k8s/kubeconfig.ts";
import { RESOURCES, resourcePath } from "../adapters/k8s/resources.ts";
import { parseListen, serveFetch } from "../adapters/http/serve.ts";
import { jsonLogger } from "../adapters/log.ts";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { type AppDeps, verifierApp, verifyFastPath } from "../verifier/app.ts";
import type { Facilitator } from "../verifier/facilitator.ts";
import { localFacilitator } from "../verifier/facilitator-local.ts";
import { remoteFacilitator } from "../verifier/facilitator-remote.ts";
import { memoryReplayGuard } from "../verifier/replay-guard.ts";
import type { PricedRoute } from "../verifier/priced-route.ts";
import type { RouteSet } from "../verifier/route-set.ts";
import { buildRouteTable } from "../verifier/route-table.ts";
import { watchClusterRoutes } from "../verifier/routes-cluster.ts";
import { watchRoutesFile } from "../verifier/routes-file.ts";
import { clusterSecrets, directorySecrets, type SecretReader, upstreamAuthorization } from "../verifier/upstream-secrets.ts";
import { verifierMetrics } from "../verifier/verifier-metrics.ts";
import { UsageError } from "./config-flags.ts";
import { untilSignal } from "./signals.ts";

export const VERIFIER_HELP = `Usage: verifier --facilitator local|URL [options]

The x402 ForwardAuth service Traefik calls for each request to a paid route
(GET|POST /verify), with /healthz, /readyz and /metrics.

Routes come from the cluster's PaymentRoutes (default), or from --routes FILE.

Options (each also from the environment variable named):
  --listen HOST:PORT        where to listen (X402_LISTEN; default 0.0.0.0:8080)
  --routes FILE             PaymentRoutes from a multi-document YAML file, re-read on change (X402_ROUTES)
  --secrets-dir DIR         with --routes: upstream auth Secrets as DIR/<name>/<key> (X402_SECRETS_DIR)
  --kubeconfig FILE         cluster mode: kubeconfig (KUBECONFIG; default: in-cluster or ~/.kube/config)
  --namespaces A,B          cluster mode: watch only these namespaces (X402_NAMESPACES; default: all)
  --facilitator local|URL   "local" verifies and settles in-process with viem; a URL uses that
                            x402 facilitator (https, or http on loopback) (X402_FACILITATOR)
  --verify-only             verify payments but do not settle them (X402_VERIFY_ONLY=true)
  --settle-timeout SECONDS  give up waiting for a settlement after this long and answer 503
                            (outcome unknown; kept under Traefik's fixed 30 s) (X402_SETTLE_TIMEOUT; default 20)
  --rpc NETWORK=URL         local facilitator: RPC URL of a network; repeat per network
                            (X402_RPC="base-sepolia=http://...,base=https://...")
  --settlement-key-file F   local facilitator: file holding the settlement account's private key
                            (a mounted Secret) (X402_SETTLEMENT_KEY_FILE)
  --settlement-key-secret NS/NAME/KEY
                            local facilitator, cluster mode: read that key from a Secret (X402_SETTLEMENT_KEY_SECRET)
`;

export async function verifierCommand(args: string[], out: (t: string) => void): Promise<number> {
  const env = process.env;
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: "string" }, routes: { type: "string" }, "secrets-dir": { type: "string" }, kubeconfig: { type: "string" },
      namespaces: { type: "string" }, facilitator: { type: "string" }, "verify-only": { type: "boolean" }, rpc: { type: "string", multiple: true },
      "settlement-key-file": { type: "string" }, "settlement-key-secret": { type: "string" }, "settle-timeout": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return out(VERIFIER_HELP), 0;
  const listen = parseListen(values.listen ?? env.X402_LISTEN ?? "0.0.0.0:8080");
  if (!listen) throw new UsageError("--listen must be HOST:PORT");
  const facilitatorChoice = values.facilitator ?? env.X402_FACILITATOR;
  if (!facilitatorChoice) throw new UsageError("--facilitator is required: local, or the URL of an x402 facilitator");
  const routesFile = values.routes ?? env.X402_ROUTES;
  const verifyOnly = values["verify-only"] ?? env.X402_VERIFY_ONLY === "true";
  const log = jsonLogger({ component: "verifier" });
  const networks = DEFAULT_NETWORKS;
  const client = routesFile ? undefined : kubeClient(await loadClusterAccess(values.kubeconfig ?? env.KUBECONFIG));

  const settleTimeoutMs = Number(values["settle-timeout"] ?? env.X402_SETTLE_TIMEOUT ?? 20) * 1000;
  if (!(settleTimeoutMs > 0 && settleTimeoutMs < 30_000)) throw new UsageError("--settle-timeout must be between 0 and 30 seconds (Traefik gives up at 30)");
  const facilitator = await chooseFacilitator(facilitatorChoice, values, env, verifyOnly, client, settleTimeoutMs);
  const metrics = verifierMetrics();
  // Until the first table arrives nothing is priced, and /readyz says so.
  const noRoutes = buildRouteTable<PricedRoute>([]);
  let current: RouteSet | undefined;
  const onChange = (set: RouteSet) => {
    current = set;
    metrics.routes(set.table.size);
  };
  const secretsDir = values["secrets-dir"] ?? env.X402_SECRETS_DIR;
  const secrets: SecretReader = client ? clusterSecrets(client) : secretsDir ? directorySecrets(secretsDir) : async () => {
    throw new Error("no Secret source: start the verifier with --secrets-dir to serve routes with upstream auth");
  };
  const namespaces = (values.namespaces ?? env.X402_NAMESPACES)?.split(",").map((n) => n.trim()).filter(Boolean);
  const source = routesFile
    ? watchRoutesFile(routesFile, networks, log, onChange)
    : watchClusterRoutes(client!, namespaces, networks, log, onChange);

  const deps: AppDeps = {
    routes: () => current?.table ?? noRoutes, routeByKey: (key) => current?.served(key), facilitator, guard: memoryReplayGuard(), mode: verifyOnly ? "verify-only" : "settle",
    nowSeconds: () => BigInt(Math.floor(Date.now() / 1000)), upstreamAuthorization: upstreamAuthorization(secrets, Date.now),
    log, metrics, ready: () => current !== undefined,
  };
  const server = await serveFetch(verifierApp(deps).fetch, listen.hostname, listen.port, verifyFastPath(deps));
  log.info("verifier listening", { address: `${server.hostname}:${server.port}`, routes: routesFile ?? "cluster", facilitator: facilitatorChoice === "local" ? "local" : new URL(facilitatorChoice).origin, mode: verifyOnly ? "verify-only" : "settle" });
  const signal = await untilSignal();
  log.info("shutting down", { signal });
  await server.close();
  await source.stop();
  return 0;
}

type KeyFlags = { rpc?: string[]; "settlement-key-file"?: string; "settlement-key-secret"?: string };

async function chooseFacilitator(choice: string, values: KeyFlags, env: NodeJS.ProcessEnv, verifyOnly: boolean, client: ReturnType<typeof kubeClient> | undefined, settleTimeoutMs: number): Promise<Facilitator> {
  if (choice !== "local") {
    try {
      return remoteFacilitator({ url: choice, settleTimeoutMs });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const rpcUrls: Record<string, string> = {};
  for (const pair of [...(values.rpc ?? []), ...(env.X402_RPC?.split(",") ?? [])]) {
    const [network, url] = pair.split(/=(.*)/s).map((s) => s.trim());
    if (!network || !url || !URL.canParse(url)) throw new UsageError(`--rpc must be NETWORK=URL, got "${pair}"`);
    rpcUrls[network] ??= url;
  }
  if (Object.keys(rpcUrls).length === 0) throw new UsageError("--facilitator local needs --rpc NETWORK=URL for each network it serves");
  const key = verifyOnly ? undefined : await settlementKey(values, env, client);
  return localFacilitator({ rpcUrls, settlementAccount: key ? privateKeyToAccount(key) : undefined, receiptTimeoutMs: settleTimeoutMs });
}

async function settlementKey(values: KeyFlags, env: NodeJS.ProcessEnv, client: ReturnType<typeof kubeClient> | undefined): Promise<`0x${string}`> {
  const file = values["settlement-key-file"] ?? env.X402_SETTLEMENT_KEY_FILE;
  const secret = values["settlement-key-secret"] ?? env.X402_SETTLEMENT_KEY_SECRET;
  let text: string;
  if (file) text = readFileSync(file, "utf8");
  else if (secret && client) {
    const [namespace, name, key] = secret.split("/");
    if (!namespace || !name || !key) throw new UsageError("--settlement-key-secret must be NAMESPACE/NAME/KEY");
    const object = await client.request<{ data?: Record<string, string> }>("GET", resourcePath(RESOURCES.Secret, namespace, name));
    text = Buffer.from(object.data?.[key] ?? "", "base64").toString("utf8");
  } else throw new UsageError("settling with --facilitator local needs --settlement-key-file or --settlement-key-secret (or use --verify-only)");
  const trimmed = text.trim();
  const hex = trimmed.startsWith("0x") ? trimmed : `0x${trimmed}`;
  // Never echo the key: the message names only what is wrong with it.
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new UsageError("the settlement key must be 32 bytes of hex");
  return hex as `0x${string}`;
}
