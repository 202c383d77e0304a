import { Buffer } from "node:buffer";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describe, expect, it } from "vitest";
import { loadClusterAccess } from "./kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
const none = { env: {}, home: join(dir, "nobody"), serviceAccountDir: join(dir, "no-sa") };

function kubeconfig(name: string, cluster: object, user: object): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({
    apiVersion: "v1", kind: "Config", "current-context": "c",
    clusters: [{ name: "k", cluster: { server: "https://10.0.0.1:6443", ...cluster } }],
    users: [{ name: "u", user }],
    contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
  }));
  return file;
}

const authorization = (options: { headers?: unknown }) =>
  Object.entries((options.headers ?? {}) as Record<string, string>).find(([k]) => k.toLowerCase() === "authorization")?.[1];

describe("loadClusterAccess", () => {
  it("reads a token, the CA and the TLS server name from a kubeconfig", async () => {
    const file = kubeconfig("token.yaml", { "certificate-authority-data": Buffer.from("CA PEM").toString("base64"), "tls-server-name": "kubernetes" }, { token: "t0k3n" });
    const access = await loadClusterAccess(file, none);
    expect(access.server).toBe("https://10.0.0.1:6443");
    const options = await access.httpsOptions();
    expect(String(options.ca)).toBe("CA PEM");
    expect(options.servername).toBe("kubernetes");
    expect(authorization(options)).toBe("Bearer t0k3n");
  });

  it("reads client certificates relative to the kubeconfig, and re-reads a token file each time", async () => {
    writeFileSync(join(dir, "client.crt"), "CERT");
    writeFileSync(join(dir, "client.key"), "KEY");
    writeFileSync(join(dir, "token"), "first\n");
    const file = kubeconfig("certs.yaml", { "insecure-skip-tls-verify": true }, { "client-certificate": "client.crt", "client-key": join(dir, "client.key"), tokenFile: join(dir, "token") });
    const access = await loadClusterAccess(file, none);
    const options = await access.httpsOptions();
    expect([String(options.cert), String(options.key), options.rejectUnauthorized]).toEqual(["CERT", "KEY", false]);
    expect(authorization(options)).toBe("Bearer first");
    writeFileSync(join(dir, "token"), "rotated\n");
    expect(authorization(await access.httpsOptions())).toBe("Bearer rotated");
  });

  it("uses the pod's ServiceAccount when there is no kubeconfig", async () => {
    const sa = join(dir, "sa");
    await import("node:fs").then((fs) => fs.mkdirSync(sa, { recursive: true }));
    writeFileSync(join(sa, "token"), "sa-token");
    writeFileSync(join(sa, "ca.crt"), "CLUSTER CA");
    const access = await loadClusterAccess(undefined, { env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, home: join(dir, "nobody"), serviceAccountDir: sa });
    expect(access.server).toBe("https://[fd00::1]:443");
    const options = await access.httpsOptions();
    expect([String(options.ca), authorization(options)]).toEqual(["CLUSTER CA", "Bearer sa-token"]);
  });

  it("runs an exec credential plugin through @kubernetes/client-node", async () => {
    const credential = JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "from-exec" } });
    const file = kubeconfig("exec.yaml", {}, { exec: { apiVersion: "client.authentication.k8s.io/v1", command: process.execPath, args: ["-e", `console.log(${JSON.stringify(credential)})`], interactiveMode: "Never" } });
    const access = await loadClusterAccess(file, none);
    expect(authorization(await access.httpsOptions())).toBe("Bearer from-exec");
  });

  it("says clearly what is wrong with a kubeconfig it cannot use", async () => {
    const file = join(dir, "broken.yaml");
    writeFileSync(file, "current-context: missing\nclusters: []\ncontexts: []\n");
    await expect(loadClusterAccess(file, none)).rejects.toThrow(/current context "missing" not found/);
    await expect(loadClusterAccess(undefined, none)).rejects.toThrow(/no kubeconfig/);
  });
});
