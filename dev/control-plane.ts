// A Kubernetes control plane from real binaries, on loopback: etcd, kube-apiserver (static
// bearer tokens, RBAC, ServiceAccount token issuing, an audit log of writes) and
// kube-controller-manager (garbage collector, namespace controller). The API server can be
// stopped and started again with the same data, for the outage scenario.
import crypto from "node:crypto";
import https from "node:https";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Binaries } from "./binaries.ts";
import { freePort } from "./free-port.ts";
import { type Running, startProcess, waitFor } from "./process.ts";

export type ControlPlane = {
  server: string;
  adminToken: string;
  /** The API server's self-signed serving certificate, to trust it as a CA. */
  caFile: string;
  /** Every create/update/patch/delete, one JSON line each (audit log). */
  auditLog: string;
  kubeconfigFor(token: string, file: string): string;
  startControllerManager(): Promise<void>;
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
};

const AUDIT_POLICY = path.join(path.dirname(fileURLToPath(import.meta.url)), "audit-policy.yaml");

export async function startControlPlane(bins: Binaries, dir: string): Promise<ControlPlane> {
  const [etcdClient, etcdPeer, apiPort, kcmPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const etcd = startProcess(bins.etcd, [
    "--name=x402", `--data-dir=${path.join(dir, "etcd")}`,
    `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=x402=http://127.0.0.1:${etcdPeer}`, "--unsafe-no-fsync", "--log-level=warn",
  ]);
  await waitFor("etcd healthy", async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok, 30_000, etcd);

  const adminToken = crypto.randomBytes(24).toString("hex");
  fs.writeFileSync(path.join(dir, "tokens.csv"), `${adminToken},x402-admin,x402-admin,"system:masters"\n`, { mode: 0o600 });
  const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  fs.writeFileSync(path.join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
  const certDir = path.join(dir, "apiserver-certs");
  const auditLog = path.join(dir, "audit.log");
  const server = `https://127.0.0.1:${apiPort}`;
  const apiArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
    `--secure-port=${apiPort}`, `--cert-dir=${certDir}`, `--token-auth-file=${path.join(dir, "tokens.csv")}`,
    "--authorization-mode=RBAC", "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${path.join(dir, "sa.pub")}`, `--service-account-signing-key-file=${path.join(dir, "sa.key")}`,
    "--service-cluster-ip-range=10.96.0.0/16",
    // The `kubernetes` Service's endpoints would point at 127.0.0.1, which Endpoints reject.
    "--endpoint-reconciler-type=none",
    `--audit-policy-file=${AUDIT_POLICY}`, `--audit-log-path=${auditLog}`, "--audit-log-mode=blocking",
    "--v=0",
  ];
  let apiserver: Running | undefined;
  const startApiServer = async () => {
    apiserver = startProcess(bins.kubeApiserver, apiArgs);
    await waitFor("kube-apiserver ready", () => readyz(`${server}/readyz`, adminToken), 120_000, apiserver);
  };
  await startApiServer();

  const caFile = path.join(certDir, "apiserver.crt");
  const kubeconfigFor = (token: string, file: string) => {
    fs.writeFileSync(file, [
      "apiVersion: v1", "kind: Config",
      "clusters:", `- name: x402\n  cluster:\n    server: ${server}\n    certificate-authority: ${caFile}`,
      "users:", `- name: user\n  user:\n    token: ${token}`,
      "contexts:", "- name: x402\n  context:\n    cluster: x402\n    user: user",
      "current-context: x402", "",
    ].join("\n"), { mode: 0o600 });
    return file;
  };
  const adminKubeconfig = kubeconfigFor(adminToken, path.join(dir, "admin.kubeconfig"));
  let kcm: Running | undefined;
  // Started once the CRDs are in: the garbage collector then watches our kinds from the start
  // (it would otherwise only notice new kinds at its next discovery, up to 30 s later).
  const startControllerManager = async () => {
    kcm = startProcess(bins.kubeControllerManager, [
      `--kubeconfig=${adminKubeconfig}`, "--bind-address=127.0.0.1", `--secure-port=${kcmPort}`, `--cert-dir=${path.join(dir, "kcm-certs")}`,
      "--controllers=garbagecollector,namespace,serviceaccount", "--leader-elect=false", "--v=0",
    ]);
    await waitFor("kube-controller-manager healthy", () => readyz(`https://127.0.0.1:${kcmPort}/healthz`, adminToken), 60_000, kcm);
  };

  return {
    server, adminToken, caFile, auditLog, kubeconfigFor, startControllerManager,
    async stopApiServer() {
      await apiserver?.stop();
    },
    startApiServer,
    async stop() {
      await kcm?.stop();
      await apiserver?.stop();
      await etcd.stop();
    },
  };
}

/** Readiness only: the certificate is not checked here (it is generated at start-up). */
function readyz(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = https.get(url, { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` }, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(false));
  });
}
