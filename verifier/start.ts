// The verifier, started: its routes (from the cluster or a file), its Secrets, its facilitator
// and its HTTP surface, wired together. The command line parses flags and calls this; a test
// or another program can call it the same way.
import type { Logger } from "../adapters/log.ts";
import { serveFetch } from "../adapters/serve.ts";
import { boundedSlots } from "../adapters/slots.ts";
import type { Network } from "../core/networks.ts";
import type { KubeClient } from "../kube/client.ts";
import { type AppDeps, verifierApp, verifyFastPath, verifyFetchFastPath } from "./app.ts";
import { dataPath } from "./data-path.ts";
import { serviceResolver } from "./service-resolver.ts";
import { type VerifierMetrics, verifierMetrics } from "./metrics.ts";
import { memoryReplayGuard, type ReplayGuard } from "./replay-guard.ts";
import { redisReplayGuard } from "./redis-replay-guard.ts";
import { connectStore, type StoreOptions } from "../adapters/redis.ts";
import { watchClusterRoutes } from "./routes/cluster-source.ts";
import { watchRoutesFile } from "./routes/file-source.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import type { RouteSet } from "./routes/set.ts";
import type { RouteSource } from "./routes/source.ts";
import { buildRouteTable } from "./routes/table.ts";
import { clusterSecrets, directorySecrets, type SecretReader, upstreamAuthorization } from "./upstream-secrets.ts";
import type { ChosenFacilitator } from "./x402/choose-facilitator.ts";

export type VerifierOptions = {
  listen: { hostname: string; port: number };
  /** PaymentRoutes from a file, or watched in the cluster (all namespaces, or these). */
  routes: { file: string; secretsDir?: string } | { client: KubeClient; namespaces?: readonly string[] };
  facilitator: ChosenFacilitator;
  verifyOnly: boolean;
  answerTimeoutMs: number;
  maxConcurrentPayments: number;
  networks: readonly Network[];
  log: Logger;
  /**
   * Where replay reservations live: this process (absent; one replica only), or a Valkey/Redis
   * store every replica shares, each replica under a name of its own.
   */
  replayStore?: StoreOptions & { replica: string };
  /** The data path's own listener, for routes that name an upstream (see data-path.ts). */
  dataPath?: { listen: { hostname: string; port: number }; upstreamTimeoutMs: number };
};

export type RunningVerifier = { hostname: string; port: number; dataPath?: { hostname: string; port: number }; stop(): Promise<void> };

export async function startVerifier(options: VerifierOptions): Promise<RunningVerifier> {
  const { routes, facilitator, verifyOnly, networks, log } = options;
  await facilitator.ready;
  const metrics = verifierMetrics();
  // Until the first table arrives nothing is priced: /verify answers 503 and /readyz says so.
  const noRoutes = buildRouteTable<PricedRoute>([]);
  let current: RouteSet | undefined;
  const onChange = (set: RouteSet) => {
    current = set;
    metrics.routes(set.table.size);
  };
  const source: RouteSource = "file" in routes
    ? watchRoutesFile(routes.file, networks, log, onChange)
    : watchClusterRoutes(routes.client, routes.namespaces, networks, log, onChange);
  const isContract = facilitator.isContract;
  const guard = replayGuardFor(options, metrics);
  const deps: AppDeps = {
    routes: () => current?.table ?? noRoutes, routeByKey: (key) => current?.served(key), ready: () => current !== undefined,
    discoverable: () => current ? current.admissions.filter((a) => a.admitted).flatMap((a) => current!.served(a.key) ?? []) : [],
    facilitator: facilitator.facilitator, guard, mode: verifyOnly ? "verify-only" : "settle",
    nowSeconds: () => BigInt(Math.floor(Date.now() / 1000)), upstreamAuthorization: upstreamAuthorization(secretsOf(routes), Date.now),
    isContract, networks, meteredSettler: facilitator.meteredSettler, agentUri: facilitator.agentUri,
    answerTimeoutMs: options.answerTimeoutMs, slots: boundedSlots(options.maxConcurrentPayments), log, metrics,
  };
  const server = await serveFetch(verifierApp(deps).fetch, options.listen.hostname, options.listen.port, { node: verifyFastPath(deps), deno: verifyFetchFastPath(deps) });
  const proxy = options.dataPath
    ? await serveFetch(
      dataPath({ ...deps, upstreamTimeoutMs: options.dataPath.upstreamTimeoutMs, resolveUpstream: "client" in routes ? serviceResolver(routes.client) : undefined }),
      options.dataPath.listen.hostname,
      options.dataPath.listen.port,
    )
    : undefined;
  return {
    hostname: server.hostname,
    port: server.port,
    dataPath: proxy && { hostname: proxy.hostname, port: proxy.port },
    async stop() {
      await proxy?.close();
      await server.close();
      await guard.close?.();
      await source.stop();
    },
  };
}

function replayGuardFor({ replayStore, log }: VerifierOptions, metrics: VerifierMetrics): ReplayGuard {
  if (!replayStore) return memoryReplayGuard();
  const { replica, ...storeOptions } = replayStore;
  const where = { store: redactedUrl(storeOptions.url), replica };
  metrics.replayStoreUp(false);
  const store = connectStore({
    ...storeOptions,
    onStatus(status, detail) {
      metrics.replayStoreUp(status === "ready");
      if (status === "ready") log.info("payment store connected", where);
      else log.error("payment store lost; payments answer 503 until it is back", { ...where, error: detail });
    },
  });
  return redisReplayGuard({ store, replica, log });
}

/** The store's address without credentials a URL may carry. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}

function secretsOf(routes: VerifierOptions["routes"]): SecretReader {
  if ("client" in routes) return clusterSecrets(routes.client);
  if (routes.secretsDir) return directorySecrets(routes.secretsDir);
  return async () => {
    throw new Error("no Secret source: start the verifier with --secrets-dir to serve routes with upstream auth");
  };
}
