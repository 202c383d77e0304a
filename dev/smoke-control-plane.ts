// Smoke test of the binaries from binaries.ts: etcd, kube-apiserver (static token auth,
// RBAC, ServiceAccount token issuing, self-signed serving cert) and kube-controller-manager
// (garbage collector, namespace controller) on loopback, checked with kubectl; then a
// cascade deletion and a namespace deletion prove both controllers run. Prints timings and
// stops and removes everything, on failure too.
//
//   node dev/smoke-control-plane.ts [--keep]   (--keep: leave it running until Ctrl-C)
import { type ChildProcess, execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.ts";
import { ensureBinaries } from "./binaries.ts";

const execFileP = promisify(execFile);
const KUBECTL = process.env.KUBECTL || "kubectl";
const t0 = Date.now();
const since = () => `${((Date.now() - t0) / 1000).toFixed(2)} s`;
const say = (m: string) => console.log(`[smoke ${since()}] ${m}`);

type Proc = { name: string; child: ChildProcess; log: string };
const procs: Proc[] = [];

function start(name: string, file: string, args: string[], logDir: string): Proc {
  const logFile = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(logFile, "a");
  const child = spawn(file, args, { stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const p = { name, child, log: logFile };
  procs.push(p);
  return p;
}

async function stopAll(): Promise<void> {
  for (const p of [...procs].reverse()) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    const exited = new Promise((r) => p.child.once("exit", r));
    p.child.kill("SIGTERM");
    const timer = setTimeout(() => p.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

async function waitFor(what: string, p: Proc | undefined, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (p && p.child.exitCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode}) while waiting for ${what}; log:\n${tail(p.log)}`);
    if (await check().catch(() => false)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${p ? `; ${p.name} log:\n${tail(p.log)}` : ""}`);
}

const tail = (file: string) => fs.readFileSync(file, "utf8").split("\n").slice(-40).join("\n");

async function main(): Promise<void> {
  const bins = await ensureBinaries();
  say(`binaries ready: ${JSON.stringify(bins.versions)}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "x402-smoke-"));
  const cleanup = async () => {
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    await run(bins, dir);
    if (process.argv.includes("--keep")) {
      say(`running; export KUBECONFIG=${path.join(dir, "kubeconfig")}; Ctrl-C stops`);
      await new Promise(() => {});
    }
  } finally {
    await cleanup();
    say(`stopped everything, removed ${dir}`);
  }
}

async function run(bins: Awaited<ReturnType<typeof ensureBinaries>>, dir: string): Promise<void> {
  const [etcdClient, etcdPeer, apiPort, kcmPort] = [await freePort(), await freePort(), await freePort(), await freePort()];

  // etcd: single member, loopback only, no fsync (test data).
  const etcdStart = Date.now();
  const etcd = start(
    "etcd",
    bins.etcd,
    [
      "--name=x402",
      `--data-dir=${path.join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=x402=http://127.0.0.1:${etcdPeer}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
    dir,
  );
  await waitFor("etcd /health", etcd, async () => {
    const res = await fetch(`http://127.0.0.1:${etcdClient}/health`);
    return res.ok && (await res.json() as { health?: string }).health === "true";
  });
  say(`etcd healthy after ${Date.now() - etcdStart} ms`);

  // kube-apiserver: static bearer tokens, RBAC, ServiceAccount issuer with a fresh RSA key.
  const adminToken = crypto.randomBytes(24).toString("hex");
  fs.writeFileSync(path.join(dir, "tokens.csv"), `${adminToken},x402-admin,x402-admin,"system:masters"\n`, { mode: 0o600 });
  const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  fs.writeFileSync(path.join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
  const apiStart = Date.now();
  const apiserver = start(
    "kube-apiserver",
    bins.kubeApiserver,
    [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(dir, "apiserver-certs")}`,
      `--token-auth-file=${path.join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${path.join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${path.join(dir, "sa.key")}`,
      "--service-cluster-ip-range=10.96.0.0/24",
      // The `kubernetes` Service's endpoints would point at 127.0.0.1, which Endpoints reject.
      "--endpoint-reconciler-type=none",
      "--v=0",
    ],
    dir,
  );
  const base = `https://127.0.0.1:${apiPort}`;
  await waitFor("kube-apiserver /readyz", apiserver, async () => (await get(`${base}/readyz`, adminToken)).body === "ok", 120_000);
  say(`kube-apiserver ready after ${Date.now() - apiStart} ms`);

  const kubeconfig = path.join(dir, "kubeconfig");
  fs.writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: x402\n  cluster:\n    server: ${base}\n    insecure-skip-tls-verify: true`,
      "users:",
      `- name: admin\n  user:\n    token: ${adminToken}`,
      "contexts:",
      "- name: x402\n  context:\n    cluster: x402\n    user: admin",
      "current-context: x402",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const kubectl = async (...args: string[]) => (await execFileP(KUBECTL, ["--kubeconfig", kubeconfig, ...args])).stdout.trim();
  const readyz = (await execFileP(KUBECTL, ["--server", base, "--token", adminToken, "--insecure-skip-tls-verify", "get", "--raw", "/readyz"])).stdout.trim();
  say(`kubectl get --raw /readyz: ${readyz}`);
  if (readyz !== "ok") throw new Error(`readyz said ${readyz}`);
  say(`server version: ${JSON.parse(await kubectl("get", "--raw", "/version")).gitVersion}`);

  // kube-controller-manager: the token kubeconfig is all it needs. Without
  // --authentication-kubeconfig/--authorization-kubeconfig only the always-allowed paths
  // (/healthz, /readyz, /livez) answer on its port, which is all we ask of it; with them it
  // logs errors looking for configmap extension-apiserver-authentication, which a token-only
  // API server does not publish. Its serving cert is generated in memory.
  const kcmStart = Date.now();
  const kcm = start(
    "kube-controller-manager",
    bins.kubeControllerManager,
    [
      `--kubeconfig=${kubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${kcmPort}`,
      "--controllers=garbagecollector,namespace,serviceaccount",
      "--leader-elect=false",
      "--v=0",
    ],
    dir,
  );
  await waitFor("kube-controller-manager /healthz", kcm, async () => (await get(`https://127.0.0.1:${kcmPort}/healthz`)).body === "ok", 120_000);
  say(`kube-controller-manager /healthz ok after ${Date.now() - kcmStart} ms`);

  // ServiceAccount token issuing (TokenRequest) and RBAC: a fresh SA can't list namespaces.
  await kubectl("create", "namespace", "smoke");
  await kubectl("-n", "smoke", "create", "serviceaccount", "probe");
  const saToken = await kubectl("-n", "smoke", "create", "token", "probe");
  const who = await execFileP(KUBECTL, ["--server", base, "--token", saToken, "--insecure-skip-tls-verify", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
  say(`ServiceAccount token authenticates as ${who.stdout.trim()}`);
  const denied = await execFileP(KUBECTL, ["--server", base, "--token", saToken, "--insecure-skip-tls-verify", "get", "namespaces"]).then(
    () => "allowed",
    (e: { stderr?: string }) => (e.stderr ?? "").trim(),
  );
  say(`RBAC for that SA listing namespaces: ${denied.slice(0, 120)}`);
  if (denied === "allowed") throw new Error("RBAC is not enforced");

  // Garbage collector: a dependent with an ownerReference goes when its owner goes.
  const ownerUid = (await kubectl("-n", "smoke", "create", "configmap", "owner", "-o", "jsonpath={.metadata.uid}"));
  const dependent = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "dependent", namespace: "smoke", ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: ownerUid }] } };
  fs.writeFileSync(path.join(dir, "dependent.json"), JSON.stringify(dependent));
  await kubectl("create", "-f", path.join(dir, "dependent.json"));
  await kubectl("-n", "smoke", "delete", "configmap", "owner", "--wait=false");
  const gcMs = await waitFor("garbage collection of the dependent", kcm, async () => (await kubectl("-n", "smoke", "get", "configmap", "dependent", "--ignore-not-found", "-o", "name")) === "");
  say(`garbage collector removed the dependent ${gcMs} ms after the owner's deletion`);

  // Namespace controller: deleting a namespace empties and removes it.
  await kubectl("delete", "namespace", "smoke", "--wait=false");
  const nsMs = await waitFor("namespace deletion", kcm, async () => (await kubectl("get", "namespace", "smoke", "--ignore-not-found", "-o", "name")) === "");
  say(`namespace controller finished deleting the namespace in ${nsMs} ms`);
  say("smoke test passed");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
