// kind mode: the scenarios run against an existing kind cluster (KIND_CLUSTER=<name>)
// instead of the embedded control plane, with the same interface. Made with
// create-kind-cluster.sh. This cannot run on machines without Docker (ours): it is
// exercised only where kind is available.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { kubeClient } from "../kube/client.ts";
import { loadClusterAccess } from "../kube/kubeconfig.ts";
import { waitFor } from "./process.ts";
import { apply } from "./apply.ts";
import type { ControlPlane } from "./control-plane.ts";

const AUDIT_LOG = "/tmp/x402-kind/audit/audit.log";

export async function connectKindControlPlane(name: string, dir: string): Promise<ControlPlane> {
  const kindKubeconfig = path.join(dir, "kind.kubeconfig");
  fs.writeFileSync(kindKubeconfig, execFileSync("kind", ["get", "kubeconfig", "--name", name]), { mode: 0o600 });
  const kc = await loadClusterAccess(kindKubeconfig);
  const caData = (parseYaml(fs.readFileSync(kindKubeconfig, "utf8")) as { clusters: { cluster: { "certificate-authority-data"?: string } }[] }).clusters[0]?.cluster["certificate-authority-data"];
  const caFile = path.join(dir, "kind-ca.crt");
  fs.writeFileSync(caFile, Buffer.from(caData ?? "", "base64"));
  const admin = kubeClient(kc);
  // A bearer token for everything we start (Deno may not send client certificates).
  await apply(admin, [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "x402-e2e-admin", namespace: "kube-system" } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "x402-e2e-admin" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "x402-e2e-admin", namespace: "kube-system" }],
    },
  ]);
  const adminToken = (await admin.request<{ status: { token: string } }>("POST", "/api/v1/namespaces/kube-system/serviceaccounts/x402-e2e-admin/token", {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 86_400 } },
  })).status.token;
  const node = `${name}-control-plane`;
  const ready = () => new Promise<boolean>((resolve) => {
    const request = https.get(`${kc.server}/readyz`, { ca: fs.readFileSync(caFile), headers: { authorization: `Bearer ${adminToken}` }, timeout: 2000 }, (r) => (r.resume(), resolve(r.statusCode === 200)));
    request.on("error", () => resolve(false));
    request.on("timeout", () => request.destroy());
  });
  const docker = (...args: string[]) => execFileSync("docker", ["exec", node, ...args]);
  if (!fs.existsSync(AUDIT_LOG)) fs.mkdirSync(path.dirname(AUDIT_LOG), { recursive: true });
  return {
    server: kc.server,
    adminToken,
    caFile,
    auditLog: AUDIT_LOG,
    kubeconfigFor(token, file) {
      fs.writeFileSync(file, [
        "apiVersion: v1", "kind: Config",
        "clusters:", `- name: kind\n  cluster:\n    server: ${kc.server}\n    certificate-authority: ${caFile}`,
        "users:", `- name: user\n  user:\n    token: ${token}`,
        "contexts:", "- name: kind\n  context:\n    cluster: kind\n    user: user",
        "current-context: kind", "",
      ].join("\n"), { mode: 0o600 });
      return file;
    },
    // kind runs its own controller manager.
    async startControllerManager() {},
    // The kubelet stops a static pod whose manifest leaves its folder, and starts it when it comes back.
    async stopApiServer() {
      docker("mv", "/etc/kubernetes/manifests/kube-apiserver.yaml", "/etc/kubernetes/kube-apiserver.yaml.stopped");
      await waitFor("kind API server stopped", async () => !(await ready()), 120_000);
    },
    async startApiServer() {
      docker("mv", "/etc/kubernetes/kube-apiserver.yaml.stopped", "/etc/kubernetes/manifests/kube-apiserver.yaml");
      await waitFor("kind API server ready", ready, 180_000);
    },
    async stop() {
      // The cluster stays; remove only what we added to it.
      for (const p of ["/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/x402-e2e-admin", "/api/v1/namespaces/kube-system/serviceaccounts/x402-e2e-admin"]) {
        await admin.request("DELETE", p).catch(() => undefined);
      }
    },
  };
}
