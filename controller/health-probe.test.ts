// Probing through a Service, with the Service and EndpointSlice served by a scripted API
// server and the upstream a real HTTP server on loopback.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeClient } from "../kube/client.ts";
import { startTestApiServer } from "../kube/test-server.ts";
import { freePort } from "../dev/free-port.ts";
import { endpointsProber, httpGet } from "./health-probe.ts";

let upstream: http.Server;
let silent: http.Server;
let upstreamPort = 0;
let silentPort = 0;
let api: Awaited<ReturnType<typeof startTestApiServer>>;
let slices: unknown[] = [];

beforeAll(async () => {
  upstream = http.createServer((req, res) => (res.writeHead(req.url === "/health" ? 500 : 404), res.end()));
  silent = http.createServer(() => {}); // accepts, never answers
  await Promise.all([upstream, silent].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r))));
  upstreamPort = (upstream.address() as AddressInfo).port;
  silentPort = (silent.address() as AddressInfo).port;
  api = await startTestApiServer((req) => {
    if (req.path === "/api/v1/namespaces/llm/services/ollama") return { body: { spec: { ports: [{ name: "http", port: 11434, targetPort: 11434 }] } } };
    if (req.path === "/apis/discovery.k8s.io/v1/namespaces/llm/endpointslices") return { body: { items: slices } };
    return { status: 404, body: { message: "not found" } };
  });
});
afterAll(async () => {
  for (const s of [upstream, silent]) s.closeAllConnections();
  await Promise.all([upstream, silent].map((s) => new Promise((r) => s.close(r))));
  await api.close();
});

const slice = (port: number, ready = true) => ({ addressType: "IPv4", ports: [{ name: "http", port }], endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready } }] });
const target = { namespace: "llm", service: "ollama", port: 11434, healthPath: "/health" };

describe("endpointsProber", () => {
  it("counts any HTTP answer, even a 500, as reachable, on the EndpointSlice's port", async () => {
    slices = [slice(upstreamPort)];
    expect(await endpointsProber(kubeClient(api.kubeConfig), 1000)(target)).toEqual({ healthy: true, message: `GET http://127.0.0.1:${upstreamPort}/health answered 500` });
  });

  it("finds no one home when no endpoint is ready", async () => {
    slices = [slice(upstreamPort, false)];
    expect(await endpointsProber(kubeClient(api.kubeConfig), 1000)(target)).toEqual({ healthy: false, message: "Service llm/ollama has no ready endpoints" });
  });

  it("reports a refused connection", async () => {
    slices = [slice(await freePort())];
    const result = await endpointsProber(kubeClient(api.kubeConfig), 1000)(target);
    expect(result).toMatchObject({ healthy: false, message: expect.stringContaining("ECONNREFUSED") });
  });

  it("reports a missing Service", async () => {
    expect(await endpointsProber(kubeClient(api.kubeConfig), 1000)({ ...target, service: "gone" })).toEqual({ healthy: false, message: "Service llm/gone not found" });
  });

  it("gives up on a silent upstream after the timeout", async () => {
    const started = Date.now();
    const result = await httpGet(`http://127.0.0.1:${silentPort}/health`, 200);
    expect(result.healthy).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
