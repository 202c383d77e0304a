// Where the API server is and who we are to it. Most deployments need only what is read
// here (in-cluster ServiceAccount, or a kubeconfig with a token, token file, client
// certificate or basic auth); @kubernetes/client-node, which also runs exec plugins and
// auth providers, is loaded only for a kubeconfig that needs one: importing it costs each
// process about 1,400 modules and 50 MB of memory.
import { Buffer } from "node:buffer";
import { existsSync, readFileSync } from "node:fs";
import type https from "node:https";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import * as v from "valibot";
import { parse } from "yaml";
import { registerSecret } from "../adapters/log.ts";

export type ClusterAccess = {
  server: string;
  /** TLS material and headers for requests; called again from time to time, so rotated tokens are picked up. */
  httpsOptions(): Promise<https.RequestOptions>;
};

export type KubeconfigEnvironment = {
  env: Record<string, string | undefined>;
  home: string;
  /** Where a pod finds its ServiceAccount token and the cluster's CA. */
  serviceAccountDir: string;
};

const DEFAULT_ENVIRONMENT: KubeconfigEnvironment = { env: process.env, home: homedir(), serviceAccountDir: "/var/run/secrets/kubernetes.io/serviceaccount" };

const ClusterSchema = v.object({
  server: v.string(),
  "certificate-authority": v.optional(v.string()),
  "certificate-authority-data": v.optional(v.string()),
  "insecure-skip-tls-verify": v.optional(v.boolean()),
  "tls-server-name": v.optional(v.string()),
});
const UserSchema = v.looseObject({
  token: v.optional(v.string()),
  tokenFile: v.optional(v.string()),
  "client-certificate": v.optional(v.string()),
  "client-certificate-data": v.optional(v.string()),
  "client-key": v.optional(v.string()),
  "client-key-data": v.optional(v.string()),
  username: v.optional(v.string()),
  password: v.optional(v.string()),
});
const KubeconfigSchema = v.object({
  "current-context": v.optional(v.string()),
  clusters: v.optional(v.nullable(v.array(v.object({ name: v.string(), cluster: ClusterSchema })))),
  users: v.optional(v.nullable(v.array(v.object({ name: v.string(), user: v.optional(v.nullable(UserSchema)) })))),
  contexts: v.optional(v.nullable(v.array(v.object({ name: v.string(), context: v.object({ cluster: v.string(), user: v.optional(v.string()) }) })))),
});

/**
 * A kubeconfig file (or `KUBECONFIG`), as client-go would look for it: the given file,
 * else `~/.kube/config`, else the pod's ServiceAccount.
 */
export async function loadClusterAccess(file?: string, environment: KubeconfigEnvironment = DEFAULT_ENVIRONMENT): Promise<ClusterAccess> {
  // Several files to merge: client-node's merging rules, not a second copy of them.
  if (file?.includes(":")) return await viaClientNode((kc) => kc.loadFromDefault(), { KUBECONFIG: file });
  const path = file ?? join(environment.home, ".kube", "config");
  if (file || existsSync(path)) return await fromKubeconfig(path);
  const host = environment.env.KUBERNETES_SERVICE_HOST;
  if (host) return inCluster(host, environment.env.KUBERNETES_SERVICE_PORT ?? "443", environment.serviceAccountDir);
  throw new Error(`no kubeconfig: give --kubeconfig or KUBECONFIG, create ${path}, or run in a pod`);
}

function inCluster(host: string, port: string, dir: string): ClusterAccess {
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    server,
    httpsOptions: async () => ({ ca: readFileSync(join(dir, "ca.crt")), headers: { authorization: `Bearer ${secret(readFileSync(join(dir, "token"), "utf8").trim())}` } }),
  };
}

async function fromKubeconfig(path: string): Promise<ClusterAccess> {
  const parsed = v.safeParse(KubeconfigSchema, parse(readFileSync(path, "utf8")) ?? {});
  if (!parsed.success) throw new Error(`${path}: not a kubeconfig: ${parsed.issues.map((i) => `${v.getDotPath(i) ?? ""} ${i.message}`).join("; ")}`);
  const config = parsed.output;
  const context = config.contexts?.find((c) => c.name === config["current-context"])?.context;
  if (!context) throw new Error(`${path}: current context "${config["current-context"] ?? ""}" not found`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) throw new Error(`${path}: cluster "${context.cluster}" not found`);
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  if ("exec" in user || "auth-provider" in user) return await viaClientNode((kc) => kc.loadFromFile(path));

  // Relative paths in a kubeconfig are relative to the file, as in kubectl.
  const read = (inline: string | undefined, file: string | undefined) =>
    inline !== undefined ? Buffer.from(inline, "base64") : file !== undefined ? readFileSync(isAbsolute(file) ? file : join(dirname(path), file)) : undefined;
  const ca = read(cluster["certificate-authority-data"], cluster["certificate-authority"]);
  const cert = read(user["client-certificate-data"], user["client-certificate"]);
  const key = read(user["client-key-data"], user["client-key"]);
  if (key) registerSecret(key.toString("utf8"));
  registerSecret(user.password);
  return {
    server: cluster.server,
    async httpsOptions() {
      const options: https.RequestOptions = {};
      if (ca) options.ca = ca;
      if (cluster["insecure-skip-tls-verify"]) options.rejectUnauthorized = false;
      if (cluster["tls-server-name"]) options.servername = cluster["tls-server-name"];
      if (cert && key) Object.assign(options, { cert, key });
      const token = secret(user.token ?? (user.tokenFile ? readFileSync(user.tokenFile, "utf8").trim() : undefined));
      if (token) options.headers = { authorization: `Bearer ${token}` };
      else if (user.username !== undefined) options.headers = { authorization: `Basic ${Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64")}` };
      return options;
    },
  };
}

type ClientNodeConfig = { loadFromFile(file: string): void; loadFromDefault(): void; getCurrentCluster(): { server: string } | null; applyToHTTPSOptions(options: https.RequestOptions): Promise<void> };

async function viaClientNode(load: (kc: ClientNodeConfig) => void, env: Record<string, string> = {}): Promise<ClusterAccess> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig() as unknown as ClientNodeConfig;
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    load(kc);
  } finally {
    for (const [k, value] of Object.entries(saved)) value === undefined ? delete process.env[k] : (process.env[k] = value);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  return {
    server: cluster.server,
    async httpsOptions() {
      const options: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(options);
      return options;
    },
  };
}

/** A credential, registered with the logger so that it never appears in a log line. */
function secret<T extends string | undefined>(value: T): T {
  registerSecret(value);
  return value;
}
