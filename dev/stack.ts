// The whole stack on a real control plane: our CRDs and RBAC from manifests/, Gateway API
// and Traefik CRDs from the Go module cache, real Traefik, a local chain with our token, an
// upstream in a network namespace of its own, and the controller and verifier as separate
// processes, each with its own ServiceAccount token. Shared by the e2e tests and `npm start`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { kubeClient, type KubeClient } from "../kube/client.ts";
import { loadClusterAccess } from "../kube/kubeconfig.ts";
import { type Chain, startChain } from "./chain/chain.ts";
import { freePort } from "./free-port.ts";
import { command, httpReady, PROJECT_ROOT, type Running, type Runtime, startProcess, waitFor } from "./process.ts";
import { apply, readManifests, waitEstablished } from "./apply.ts";
import { type Binaries, ensureBinaries } from "./binaries.ts";
import { type ControlPlane, startControlPlane } from "./control-plane.ts";
import { connectKindControlPlane } from "./kind-control-plane.ts";
import { deploymentMemoryLimit, memoryCgroup } from "./memory-limit.ts";
import { createTestHost, type TestHost } from "./netns.ts";
import { startTraefik, type Traefik } from "./traefik.ts";
import { startVerifierFleet, type VerifierFleet } from "./verifier-fleet.ts";

export const UPSTREAM = { namespace: "llm", service: "ollama", port: 11434, targetPort: 8080, secret: "litellm-secrets", secretKey: "LITELLM_MASTER_KEY", secretValue: "sk-litellm-e2e" };

export type Component = { process: Running; port: number; url: string };

export type Stack = {
  dir: string;
  bins: Binaries;
  controlPlane: ControlPlane;
  admin: KubeClient;
  adminKubeconfig: string;
  traefik: Traefik;
  chain: Chain;
  host: TestHost;
  upstream: Running;
  payTo: `0x${string}`;
  /** Starts a controller (or a second one) on the given runtime with the controller's own token. */
  startController(runtime: Runtime, identity: string, extra?: string[], options?: { leaderElect?: boolean }): Promise<Component>;
  startVerifier(runtime: Runtime): Promise<Component>;
  /**
   * Verifier replicas (one per runtime) sharing the replay store at `replayStore` and, as a
   * Deployment's Pods share its Secret, one settlement account, behind Traefik (see
   * verifier-fleet.ts). Needs `fleet: true`.
   */
  startVerifierFleet(runtimes: readonly Runtime[], replayStore: string): Promise<VerifierFleet>;
  verifierUrl: string;
  stop(): Promise<void>;
};

const MANIFESTS = path.join(PROJECT_ROOT, "manifests");

/** fleet: the offers' Middlewares reach the verifier through Traefik's `auth` entryPoint, which balances over a fleet. */
export async function startStack(options: { hostIndex?: number; fleet?: boolean } = {}): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "x402-stack-"));
  const cleanups: (() => Promise<unknown> | unknown)[] = [() => fs.rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error("cleanup failed:", error);
      }
    }
  };
  try {
    const bins = await ensureBinaries();
    // kind mode: an existing kind cluster (dev/create-kind-cluster.sh) instead of the embedded one.
    const kind = process.env.KIND_CLUSTER;
    const controlPlane = kind ? await connectKindControlPlane(kind, dir) : await startControlPlane(bins, dir);
    cleanups.push(() => controlPlane.stop());
    const adminKubeconfig = controlPlane.kubeconfigFor(controlPlane.adminToken, path.join(dir, "admin.kubeconfig"));
    const admin = kubeClient(await loadClusterAccess(adminKubeconfig));

    // CRDs first: ours, Gateway API's standard channel, Traefik's.
    const crds = [
      ...readManifests(path.join(MANIFESTS, "crds", "serviceoffers.obol.org.yaml"), path.join(MANIFESTS, "crds", "paymentroutes.obol.org.yaml")),
      ...readManifests(...fs.readdirSync(bins.gatewayCrdsDir).filter((f) => f.endsWith(".yaml")).map((f) => path.join(bins.gatewayCrdsDir, f))),
      ...readManifests(bins.traefikCrdsFile).filter((o) => o.kind === "CustomResourceDefinition"),
    ];
    await apply(admin, crds);
    await waitEstablished(admin, crds);
    await controlPlane.startControllerManager();
    const namespaces = ["traefik", UPSTREAM.namespace].map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } }));
    // The controller's and the verifier's RBAC exactly as manifests/ ships it.
    const rbac = readManifests(
      path.join(MANIFESTS, "namespace.yaml"),
      ...["serviceaccount", "clusterrole", "clusterrolebinding", "role-leader-election"].map((f) => path.join(MANIFESTS, "controller", `${f}.yaml`)),
      ...["serviceaccount", "clusterrole", "clusterrolebinding"].map((f) => path.join(MANIFESTS, "verifier", `${f}.yaml`)),
    );
    await apply(admin, [...namespaces, ...rbac]);
    const token = async (account: string) =>
      (await admin.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/x402/serviceaccounts/${account}/token`, {
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 86_400 } },
      })).status.token;
    const controllerKubeconfig = controlPlane.kubeconfigFor(await token("x402-controller"), path.join(dir, "controller.kubeconfig"));
    const verifierKubeconfig = controlPlane.kubeconfigFor(await token("x402-verifier"), path.join(dir, "verifier.kubeconfig"));

    const traefik = await startTraefik(bins.traefik, admin, { server: controlPlane.server, token: controlPlane.adminToken, caFile: controlPlane.caFile }, dir);
    cleanups.push(() => traefik.stop());

    const chain = await startChain();
    cleanups.push(() => chain.stop());
    const settlementKey = path.join(dir, "settlement.key");
    fs.writeFileSync(settlementKey, chain.accounts[0]!.privateKey, { mode: 0o600 });

    // The upstream lives on a test host of its own, published as a Service with an EndpointSlice.
    const host = createTestHost(`e2e${process.pid % 10000}`, options.hostIndex ?? (process.pid % 8000));
    cleanups.push(() => host.destroy());
    const upstream = startProcess("ip", ["netns", "exec", host.namespace, path.join(PROJECT_ROOT, "node_modules", ".bin", "node"), path.join(PROJECT_ROOT, "dev", "upstream-server.ts"), host.address, String(UPSTREAM.targetPort)]);
    cleanups.push(() => upstream.stop());
    await waitFor("upstream listening", async () => upstream.output().includes("listening"), 15_000, upstream);
    await apply(admin, [
      { apiVersion: "v1", kind: "Service", metadata: { name: UPSTREAM.service, namespace: UPSTREAM.namespace }, spec: { ports: [{ name: "http", port: UPSTREAM.port, targetPort: UPSTREAM.targetPort }] } },
      {
        apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice",
        metadata: { name: `${UPSTREAM.service}-e2e`, namespace: UPSTREAM.namespace, labels: { "kubernetes.io/service-name": UPSTREAM.service } },
        addressType: "IPv4", ports: [{ name: "http", port: UPSTREAM.targetPort, protocol: "TCP" }],
        endpoints: [{ addresses: [host.address], conditions: { ready: true } }],
      },
      { apiVersion: "v1", kind: "Secret", metadata: { name: UPSTREAM.secret, namespace: UPSTREAM.namespace }, stringData: { [UPSTREAM.secretKey]: UPSTREAM.secretValue } },
    ]);

    const verifierPort = await freePort();
    const verifierUrl = options.fleet ? `${traefik.authUrl}/verify` : `http://${host.hostAddress}:${verifierPort}/verify`;
    // The verifier listens on the host's side of the test host's link, an address an
    // EndpointSlice may name (not loopback), published as its Service: the data path, and its
    // own port for what the gateway routes to it (manifests/verifier/well-known-route.yaml).
    const dataPathPort = await freePort();
    await apply(admin, [
      { apiVersion: "v1", kind: "Service", metadata: { name: "x402-verifier", namespace: "x402" }, spec: { ports: [{ name: "http", port: 8080 }, { name: "data-path", port: 8081 }] } },
      {
        apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice",
        metadata: { name: "x402-verifier-e2e", namespace: "x402", labels: { "kubernetes.io/service-name": "x402-verifier" } },
        addressType: "IPv4", ports: [{ name: "http", port: verifierPort, protocol: "TCP" }, { name: "data-path", port: dataPathPort, protocol: "TCP" }],
        endpoints: [{ addresses: [host.hostAddress], conditions: { ready: true } }],
      },
    ]);
    const component = async (process: Running, port: number, what: string, address = "127.0.0.1"): Promise<Component> => {
      cleanups.push(() => process.stop());
      await waitFor(what, () => httpReady(`http://${address}:${port}/healthz`), 60_000, process);
      return { process, port, url: `http://${address}:${port}` };
    };

    // Under the memory limit of its Deployment, as the kubelet would run it (see memory-limit.ts).
    const startDeployed = (component: "controller" | "verifier", runtime: Runtime, args: string[], env: Record<string, string> = {}) => {
      const [file, argv] = command(runtime, path.join(PROJECT_ROOT, "main.ts"), args);
      const cgroup = memoryCgroup(component, deploymentMemoryLimit(component));
      if (!cgroup) return startProcess(file, argv, env);
      const running = startProcess(...cgroup.wrap(file, argv), env);
      void running.exited.then(() => cgroup.remove());
      return running;
    };

    return {
      dir, bins, controlPlane, admin, adminKubeconfig, traefik, chain, host, upstream, verifierUrl,
      payTo: chain.accounts[9]!.address,
      async startController(runtime, identity, extra = [], options = {}) {
        const port = await freePort();
        const election = options.leaderElect === false ? [] : ["--leader-elect", "--lease", "x402/x402-controller"];
        const process = startDeployed("controller", runtime, [
          "controller", "--kubeconfig", controllerKubeconfig, "--listen", `127.0.0.1:${port}`, ...election,
          "--identity", identity, "--verifier-url", verifierUrl, "--data-path-service", "x402/x402-verifier:8081", "--probe-interval", "1", "--probe-timeout", "1", ...extra,
        ]);
        return await component(process, port, `controller ${identity}`);
      },
      async startVerifier(runtime) {
        const process = startDeployed("verifier", runtime, [
          "verifier", "--kubeconfig", verifierKubeconfig, "--listen", `${host.hostAddress}:${verifierPort}`, "--data-path-listen", `${host.hostAddress}:${dataPathPort}`, "--facilitator", "local",
          "--rpc", `base-sepolia=${chain.rpcUrl}`, "--settlement-key-file", settlementKey,
        ]);
        return await component(process, verifierPort, `verifier on ${runtime}`, host.hostAddress);
      },
      async startVerifierFleet(runtimes, replayStore) {
        const fleet = await startVerifierFleet({
          admin, addresses: host.moreHostAddresses(runtimes.length),
          launch: (runtime, args, env) => startDeployed("verifier", runtime, ["verifier", ...args], env),
          args: () => [
            "--kubeconfig", verifierKubeconfig, "--facilitator", "local", "--rpc", `base-sepolia=${chain.rpcUrl}`,
            "--settlement-key-file", settlementKey, "--replay-store", replayStore,
          ],
        }, runtimes);
        cleanups.push(() => fleet.stop());
        return fleet;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
