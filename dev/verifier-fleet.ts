// A verifier fleet on the real-cluster stack: N verifier processes sharing a Valkey/Redis
// replay store, published as the x402-verifier Service, one EndpointSlice per replica (each
// its own address on the test host's link), so that Traefik balances over them itself:
// the data path through the offers' HTTPRoutes, ForwardAuth through an IngressRoute on
// Traefik's `auth` entryPoint (the offers' Middlewares name that entryPoint's address). A
// replica killed is taken out of its EndpointSlice, as the endpoints controller would do once
// its Pod is not ready, and put back once it is restarted and healthy.
import type { KubeClient } from "../kube/client.ts";
import { apply } from "./apply.ts";
import { freePort } from "./free-port.ts";
import { httpReady, type Running, type Runtime, waitFor } from "./process.ts";

export type FleetReplica = { name: string; runtime: Runtime; process: Running; address: string; authPort: number; dataPort: number; killed: number };

export type VerifierFleet = {
  replicas: FleetReplica[];
  /** SIGKILL, then out of the Service. */
  kill(index: number): Promise<void>;
  /** Started again on the same ports, back in the Service once healthy. */
  restart(index: number): Promise<void>;
  /** Each live replica's /metrics text. */
  metrics(): Promise<string[]>;
  stop(): Promise<void>;
};

export type FleetDeps = {
  admin: KubeClient;
  /** One address per replica (Traefik counts an address once in a Service's endpoints, whatever its ports). */
  addresses: readonly string[];
  /** Starts one verifier process with these arguments (after `verifier`) and environment. */
  launch(runtime: Runtime, args: string[], env: Record<string, string>): Running;
  /** The arguments every replica shares (kubeconfig, facilitator, RPC, store, ...); the index picks per-replica ones. */
  args(index: number): string[];
};

const NAMESPACE = "x402";
const SERVICE = "x402-verifier";

export async function startVerifierFleet(deps: FleetDeps, runtimes: readonly Runtime[]): Promise<VerifierFleet> {
  const { admin } = deps;
  await apply(admin, [
    { apiVersion: "v1", kind: "Service", metadata: { name: SERVICE, namespace: NAMESPACE }, spec: { ports: [{ name: "http", port: 8080 }, { name: "data-path", port: 8081 }] } },
    // Traefik retries a connection a dead replica refused on another one, before any answer.
    { apiVersion: "traefik.io/v1alpha1", kind: "Middleware", metadata: { name: "verifier-retry", namespace: NAMESPACE }, spec: { retry: { attempts: 3, initialInterval: "20ms" } } },
    {
      apiVersion: "traefik.io/v1alpha1", kind: "IngressRoute", metadata: { name: "x402-verifier-auth", namespace: NAMESPACE },
      spec: { entryPoints: ["auth"], routes: [{ match: "PathPrefix(`/`)", kind: "Rule", middlewares: [{ name: "verifier-retry" }], services: [{ name: SERVICE, port: 8080 }] }] },
    },
  ]);
  await admin.request("DELETE", `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices/x402-verifier-e2e`).catch(() => undefined);
  const slice = (replica: FleetReplica, ready: boolean) => ({
    apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice",
    metadata: { name: `${SERVICE}-${replica.name}`, namespace: NAMESPACE, labels: { "kubernetes.io/service-name": SERVICE } },
    addressType: "IPv4",
    ports: [{ name: "http", port: replica.authPort, protocol: "TCP" }, { name: "data-path", port: replica.dataPort, protocol: "TCP" }],
    endpoints: [{ addresses: [replica.address], conditions: { ready } }],
  });
  const launch = async (replica: FleetReplica, index: number) => {
    replica.process = deps.launch(replica.runtime, [
      "--listen", `${replica.address}:${replica.authPort}`, "--data-path-listen", `${replica.address}:${replica.dataPort}`, ...deps.args(index),
    ], { POD_NAME: replica.name });
    await waitFor(`${replica.name} healthy`, () => httpReady(`http://${replica.address}:${replica.authPort}/readyz`), 60_000, replica.process);
    await apply(admin, [slice(replica, true)]);
  };
  const replicas: FleetReplica[] = [];
  for (const [index, runtime] of runtimes.entries()) {
    const address = deps.addresses[index]!;
    const replica: FleetReplica = { name: `verifier-${index}`, runtime, process: undefined as unknown as Running, address, authPort: await freePort(), dataPort: await freePort(), killed: 0 };
    replicas.push(replica);
    await launch(replica, index);
  }
  return {
    replicas,
    async kill(index) {
      const replica = replicas[index]!;
      replica.process.child.kill("SIGKILL");
      replica.killed++;
      await replica.process.exited;
      await apply(admin, [slice(replica, false)]);
    },
    restart: (index) => launch(replicas[index]!, index),
    async metrics() {
      const live = replicas.filter((r) => r.process.child.exitCode === null && r.process.child.signalCode === null);
      return await Promise.all(live.map(async (r) => await (await fetch(`http://${r.address}:${r.authPort}/metrics`)).text()));
    },
    async stop() {
      await Promise.all(replicas.map((r) => r.process.stop()));
    },
  };
}
