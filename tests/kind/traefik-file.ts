// Real Traefik without Kubernetes: its file provider serves a dynamic configuration we
// write (routers, middlewares, services), on one loopback entryPoint, with the ping and
// API endpoints on a second one, so a test can wait until every router is actually served.
import fs from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { freePort } from "../../dev/free-port.ts";
import { type Running, startProcess, waitFor } from "../../dev/process.ts";

/** Traefik's dynamic configuration (the `http:` section is all the tests use). */
export type DynamicConfig = {
  http: {
    routers: Record<string, { rule: string; priority?: number; entryPoints?: string[]; middlewares?: string[]; service: string }>;
    middlewares?: Record<string, Record<string, unknown>>;
    services: Record<string, { loadBalancer: { servers: { url: string }[]; passHostHeader?: boolean } }>;
  };
};

export type FileTraefik = {
  /** http://127.0.0.1:<web port> */
  url: string;
  port: number;
  process: Running;
  /** The routers Traefik reports as enabled, by name (without the @file suffix). */
  enabledRouters(): Promise<string[]>;
  stop(): Promise<void>;
};

/** The entryPoint the routers are served on. */
export const WEB = "web";

export async function startFileTraefik(binary: string, config: DynamicConfig, dir: string): Promise<FileTraefik> {
  const [webPort, adminPort] = await Promise.all([freePort(), freePort()]);
  const file = path.join(dir, "traefik-dynamic.yaml");
  fs.writeFileSync(file, stringify(config));
  const traefik = startProcess(binary, [
    `--entryPoints.${WEB}.address=127.0.0.1:${webPort}`,
    `--entryPoints.traefik.address=127.0.0.1:${adminPort}`,
    "--ping=true", "--ping.entryPoint=traefik",
    "--api=true", "--api.insecure=true", "--api.dashboard=false",
    `--providers.file.filename=${file}`, "--providers.file.watch=false",
    "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
    "--log.level=INFO",
  ]);
  const admin = `http://127.0.0.1:${adminPort}`;
  const enabledRouters = async () => {
    const response = await fetch(`${admin}/api/http/routers?per_page=1000`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return [];
    const routers = await response.json() as { name: string; status: string; provider: string }[];
    return routers.filter((r) => r.provider === "file" && r.status === "enabled").map((r) => r.name.replace(/@file$/, ""));
  };
  try {
    await waitFor("traefik ping", async () => (await fetch(`${admin}/ping`)).ok, 60_000, traefik);
    const wanted = Object.keys(config.http.routers);
    await waitFor(`traefik routers ${wanted.join(", ")} enabled`, async () => {
      const enabled = await enabledRouters();
      return wanted.every((name) => enabled.includes(name));
    }, 30_000, traefik);
  } catch (error) {
    await traefik.stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${webPort}`, port: webPort, process: traefik, enabledRouters, stop: () => traefik.stop().then(() => undefined) };
}

/**
 * The rule and priority Traefik's Gateway API provider gives an HTTPRoute rule with one
 * `PathPrefix` match (pkg/provider/kubernetes/gateway/httproute.go, buildPathRule and
 * buildMatchRule: 10000 + 100 per character, + 1 for the only rule of its route).
 */
export function gatewayPathPrefix(prefix: string): { rule: string; priority: number } {
  if (prefix === "/") return { rule: `PathPrefix(\`/\`)`, priority: 1 + 1 };
  const trimmed = prefix.replace(/\/$/, "");
  return { rule: `(Path(\`${trimmed}\`) || PathPrefix(\`${trimmed}/\`))`, priority: 10000 + prefix.length * 100 + 1 };
}
