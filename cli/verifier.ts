// `verifier`: the x402 ForwardAuth service, from a routes file or from the cluster.
import { parseArgs } from "node:util";
import { jsonLogger } from "../adapters/log.ts";
import { parseListen } from "../adapters/serve.ts";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { kubeClient } from "../kube/client.ts";
import { loadClusterAccess } from "../kube/kubeconfig.ts";
import { DEFAULT_UPSTREAM_TIMEOUT_MS } from "../verifier/data-path.ts";
import { DEFAULT_ANSWER_TIMEOUT_MS } from "../verifier/paid-request.ts";
import { redactedUrl, startVerifier } from "../verifier/start.ts";
import { replayStoreFromFlags } from "./replay-store-flags.ts";
import { UsageError } from "./config-flags.ts";
import { untilSignal } from "./signals.ts";
import { facilitatorFromFlags } from "./verifier-facilitator.ts";

/** Traefik's ForwardAuth timeout is 30 s, fixed; an answer must leave it room to pass the answer on. */
const MAX_ANSWER_TIMEOUT_SECONDS = 28;

export const VERIFIER_HELP = `Usage: verifier --facilitator local|URL [options]

The x402 ForwardAuth service Traefik calls for each request to a paid route
(GET|POST /verify), with /healthz, /readyz and /metrics.

Routes come from the cluster's PaymentRoutes (default), or from --routes FILE.

Options (each also from the environment variable named):
  --listen HOST:PORT        where to listen (X402_LISTEN; default 0.0.0.0:8080)
  --data-path-listen HOST:PORT
                            also serve the data path there: routes that name an upstream are proxied by
                            the verifier itself, settled only once the upstream answered < 400 (X402_DATA_PATH_LISTEN)
  --upstream-timeout SECONDS
                            data path: how long an upstream may take to answer (its headers; a body may
                            stream for longer) (X402_UPSTREAM_TIMEOUT; default ${DEFAULT_UPSTREAM_TIMEOUT_MS / 1000})
  --routes FILE             PaymentRoutes from a multi-document YAML file, re-read on change (X402_ROUTES)
  --secrets-dir DIR         with --routes: upstream auth Secrets as DIR/<name>/<key> (X402_SECRETS_DIR)
  --kubeconfig FILE         cluster mode: kubeconfig (KUBECONFIG; default: in-cluster or ~/.kube/config)
  --namespaces A,B          cluster mode: watch only these namespaces (X402_NAMESPACES; default: all)
  --facilitator local|URL   "local" verifies and settles in-process with viem; a URL uses that
                            x402 facilitator (https, or http on loopback) (X402_FACILITATOR)
  --verify-only             verify payments but do not settle them (X402_VERIFY_ONLY=true)
  --answer-timeout SECONDS  one budget for a whole paid answer (verification takes at most half,
                            settlement the rest); past it the answer is 503 (outcome unknown).
                            At most ${MAX_ANSWER_TIMEOUT_SECONDS}: Traefik gives up at 30 (X402_ANSWER_TIMEOUT; default ${DEFAULT_ANSWER_TIMEOUT_MS / 1000})
  --max-concurrent-payments N
                            payments verified or settled at once; more wait up to 2 s, then 503
                            (X402_MAX_CONCURRENT_PAYMENTS; default 64)
  --rpc NETWORK=URL         RPC URL of a network; repeat per network (X402_RPC="base-sepolia=http://...,base=https://...").
                            Required for --facilitator local. With a remote facilitator: unknown settlements
                            are resolved on chain (else by settling again), and smart-wallet payers are recognized.
  --settlement-key-file F   local facilitator: file holding the settlement account's private key
                            (a mounted Secret) (X402_SETTLEMENT_KEY_FILE)
  --replay-store URL        share replay reservations with the other replicas in Valkey/Redis:
                            redis://[user@]host:port[/db], or rediss:// for TLS (X402_REPLAY_STORE;
                            default: in this process, which is right for one replica only)
  --replay-store-password-file F
                            the store's password (a mounted Secret) (X402_REPLAY_STORE_PASSWORD_FILE)
  --replay-store-ca-file F  PEM bundle to trust for rediss:// (X402_REPLAY_STORE_CA_FILE)
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
      "settlement-key-file": { type: "string" }, "settlement-key-secret": { type: "string" }, "answer-timeout": { type: "string" },
      "settle-timeout": { type: "string" }, "max-concurrent-payments": { type: "string" }, help: { type: "boolean", short: "h" },
      "data-path-listen": { type: "string" }, "upstream-timeout": { type: "string" },
      "replay-store": { type: "string" }, "replay-store-password-file": { type: "string" }, "replay-store-ca-file": { type: "string" },
    },
  });
  if (values.help) return out(VERIFIER_HELP), 0;
  const log = jsonLogger({ component: "verifier" });
  // The last line of defence: a rejection nobody handled is logged, and the in-memory holds survive.
  process.on("unhandledRejection", (error) => log.error("unhandled rejection", { error: String(error) }));
  const listen = parseListen(values.listen ?? env.X402_LISTEN ?? "0.0.0.0:8080");
  if (!listen) throw new UsageError("--listen must be HOST:PORT");
  const facilitatorChoice = values.facilitator ?? env.X402_FACILITATOR;
  if (!facilitatorChoice) throw new UsageError("--facilitator is required: local, or the URL of an x402 facilitator");
  if (values["settle-timeout"] !== undefined) log.warn("--settle-timeout is now --answer-timeout: one budget for the whole answer");
  const answerTimeoutMs = seconds(values["answer-timeout"] ?? values["settle-timeout"] ?? env.X402_ANSWER_TIMEOUT, DEFAULT_ANSWER_TIMEOUT_MS / 1000) * 1000;
  if (!(answerTimeoutMs >= 1000 && answerTimeoutMs <= MAX_ANSWER_TIMEOUT_SECONDS * 1000)) {
    throw new UsageError(`--answer-timeout must be between 1 and ${MAX_ANSWER_TIMEOUT_SECONDS} seconds (Traefik gives up at 30)`);
  }
  const maxPayments = Number(values["max-concurrent-payments"] ?? env.X402_MAX_CONCURRENT_PAYMENTS ?? 64);
  if (!(Number.isInteger(maxPayments) && maxPayments > 0)) throw new UsageError("--max-concurrent-payments must be a positive whole number");
  const routesFile = values.routes ?? env.X402_ROUTES;
  const verifyOnly = values["verify-only"] ?? env.X402_VERIFY_ONLY === "true";
  const client = routesFile ? undefined : kubeClient(await loadClusterAccess(values.kubeconfig ?? env.KUBECONFIG));
  const facilitator = await facilitatorFromFlags(facilitatorChoice, values, env, verifyOnly, client);
  const namespaces = (values.namespaces ?? env.X402_NAMESPACES)?.split(",").map((n) => n.trim()).filter(Boolean);
  const routes = client ? { client, namespaces } : { file: routesFile!, secretsDir: values["secrets-dir"] ?? env.X402_SECRETS_DIR };
  if (!verifyOnly && facilitatorChoice !== "local" && !facilitator.isContract) {
    log.warn("settling through a remote facilitator without --rpc: a payment whose settlement answer is lost stays unknown (503) for its buyer; give --rpc NETWORK=URL so the chain can tell");
  }
  const dataPathText = values["data-path-listen"] ?? env.X402_DATA_PATH_LISTEN;
  const dataPathListen = dataPathText === undefined ? undefined : parseListen(dataPathText);
  if (dataPathText !== undefined && !dataPathListen) throw new UsageError("--data-path-listen must be HOST:PORT");
  const upstreamTimeoutMs = seconds(values["upstream-timeout"] ?? env.X402_UPSTREAM_TIMEOUT, DEFAULT_UPSTREAM_TIMEOUT_MS / 1000) * 1000;
  if (!(upstreamTimeoutMs >= 1000 && upstreamTimeoutMs <= 3_600_000)) throw new UsageError("--upstream-timeout must be between 1 and 3600 seconds");
  const dataPath = dataPathListen && { listen: dataPathListen, upstreamTimeoutMs };
  const replayStore = await replayStoreFromFlags(values, env);
  const verifier = await startVerifier({ listen, routes, facilitator, verifyOnly, answerTimeoutMs, maxConcurrentPayments: maxPayments, networks: DEFAULT_NETWORKS, log, dataPath, replayStore });
  log.info("verifier listening", {
    address: `${verifier.hostname}:${verifier.port}`, routes: routesFile ?? "cluster", facilitator: facilitatorChoice === "local" ? "local" : new URL(facilitatorChoice).origin,
    mode: verifyOnly ? "verify-only" : "settle", answerTimeoutSeconds: answerTimeoutMs / 1000, unknownOutcomesResolved: facilitator.resolution,
    dataPath: verifier.dataPath ? `${verifier.dataPath.hostname}:${verifier.dataPath.port}` : "off",
    replayStore: replayStore ? redactedUrl(replayStore.url) : "this process", replica: replayStore?.replica,
  });
  const signal = await untilSignal();
  log.info("shutting down", { signal });
  await verifier.stop();
  return 0;
}

function seconds(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : Number(text);
}
