// Real Traefik, out of cluster, with its kubernetesCRD and kubernetesGateway providers
// pointed at our API server, and the GatewayClass and Gateway it serves.
import fs from "node:fs";
import path from "node:path";
import type { KubeClient } from "../kube/client.ts";
import { freePort } from "./free-port.ts";
import { type Running, startProcess, waitFor } from "./process.ts";
import { apply } from "./apply.ts";

/** url: the Gateway's web listener; authUrl: the `auth` entryPoint, for IngressRoutes to the verifier fleet (verifier-fleet.ts). */
export type Traefik = { url: string; authUrl: string; process: Running; stop(): Promise<void> };

export async function startTraefik(binary: string, client: KubeClient, api: { server: string; token: string; caFile: string }, dir: string): Promise<Traefik> {
  const [webPort, pingPort, authPort] = await Promise.all([freePort(), freePort(), freePort()]);
  await apply(client, [
    { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "traefik" }, spec: { controllerName: "traefik.io/gateway-controller" } },
    {
      apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: "traefik-gateway", namespace: "traefik" },
      spec: {
        gatewayClassName: "traefik",
        // Traefik matches a listener to the entryPoint with the same port.
        listeners: [{ name: "web", protocol: "HTTP", port: webPort, allowedRoutes: { namespaces: { from: "All" } } }],
      },
    },
  ]);
  const tokenFile = path.join(dir, "traefik.token");
  fs.writeFileSync(tokenFile, api.token, { mode: 0o600 });
  const provider = (name: string) => [
    `--providers.${name}.endpoint=${api.server}`, `--providers.${name}.token=${api.token}`, `--providers.${name}.certAuthFilePath=${api.caFile}`,
  ];
  const traefik = startProcess(binary, [
    `--entryPoints.web.address=127.0.0.1:${webPort}`,
    `--entryPoints.traefik.address=127.0.0.1:${pingPort}`,
    `--entryPoints.auth.address=127.0.0.1:${authPort}`,
    // ForwardAuth's X-Forwarded-* come from Traefik itself: kept, not stripped as a client's would be.
    "--entryPoints.auth.forwardedHeaders.trustedIPs=127.0.0.1/32",
    "--ping=true", "--ping.entryPoint=traefik",
    ...provider("kubernetesCRD"), ...provider("kubernetesGateway"),
    "--providers.kubernetesCRD.allowCrossNamespace=false",
    "--providers.kubernetesGateway.throttleDuration=0s", "--providers.kubernetesCRD.throttleDuration=0s",
    "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
    "--log.level=INFO",
  ]);
  await waitFor("traefik ping", async () => (await fetch(`http://127.0.0.1:${pingPort}/ping`)).ok, 60_000, traefik);
  return { url: `http://127.0.0.1:${webPort}`, authUrl: `http://127.0.0.1:${authPort}`, process: traefik, stop: () => traefik.stop().then(() => undefined) };
}
