// The data path behind real Traefik (file provider), against Traefik proxying the same
// upstream straight: answers per second and p50 latency, for unpaid requests (the verifier
// answers 402 itself) and for paid ones (verify-only on a local chain, one fresh payment per
// request), and server CPU per answer: the verifier's per proxied paid answer against
// Traefik's own per proxied answer.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinaries } from "../dev/binaries.ts";
import { startChain } from "../dev/chain/chain.ts";
import { freePort } from "../dev/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../dev/process.ts";
import { startFileTraefik } from "../tests/kind/traefik-file.ts";
import { cpuMs } from "./cpu-time.ts";
import { load } from "./http-load.ts";
import { freshPayments } from "./fresh-payments.ts";
import { figure, type Figure, median, round } from "./stats.ts";

const PAID_REQUESTS = 400;
const PAID_CONCURRENCY = 16;

export async function dataPathTraefikFigures(rounds: number): Promise<Figure[]> {
  const chain = await startChain();
  const dir = mkdtempSync(join(tmpdir(), "x402-bench-traefik-"));
  const processes: Running[] = [];
  try {
    const bins = await ensureBinaries();
    const [upstreamPort, verifierPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    const upstream = start("node", "bench/servers/json-upstream.ts", [String(upstreamPort)]);
    processes.push(upstream);
    const payTo = chain.accounts[9]!.address;
    writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop}
spec: {pattern: "/paid/*", price: "0.001", payTo: "${payTo}", network: base-sepolia, upstream: {url: "http://127.0.0.1:${upstreamPort}", stripPrefix: /paid}}
`);
    const verifier = start("node", "main.ts", [
      "verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${verifierPort}`, "--data-path-listen", `127.0.0.1:${proxyPort}`,
      "--facilitator", "local", "--rpc", `base-sepolia=${chain.rpcUrl}`, "--verify-only", "--max-concurrent-payments", "256",
    ]);
    processes.push(verifier);
    await waitFor("upstream", async () => upstream.output().includes("listening"), 30_000, upstream);
    await waitFor("verifier", () => httpReady(`http://127.0.0.1:${verifierPort}/readyz`), 30_000, verifier);
    const traefik = await startFileTraefik(bins.traefik, {
      http: {
        routers: {
          direct: { rule: "PathPrefix(`/direct`)", service: "upstream", entryPoints: ["web"] },
          paid: { rule: "PathPrefix(`/paid`)", service: "verifier", entryPoints: ["web"] },
          // The same route paid through ForwardAuth: the verifier beside the request, Traefik forwarding.
          forwardAuth: { rule: "PathPrefix(`/fa`)", service: "upstream", entryPoints: ["web"], middlewares: ["x402"] },
        },
        middlewares: {
          x402: { forwardAuth: { address: `http://127.0.0.1:${verifierPort}/verify?route=shop%2Fllm-payment`, trustForwardHeader: false } },
        },
        services: {
          upstream: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${upstreamPort}` }] } },
          verifier: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${proxyPort}` }] } },
        },
      },
    }, dir);
    processes.push(traefik.process);

    const payment = freshPayments(chain, payTo);
    /** `count` requests, `concurrency` at a time, each with its own headers: answers per second and each answer's latency. */
    const paidLoad = async (url: string, headers: Record<string, string>[]) => {
      const latencies: number[] = [];
      let at = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: PAID_CONCURRENCY }, async () => {
        while (at < headers.length) {
          const h = headers[at++]!;
          const t = performance.now();
          const response = await fetch(url, { headers: h });
          await response.arrayBuffer();
          if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
          latencies.push(performance.now() - t);
        }
      }));
      return { rps: headers.length / ((performance.now() - started) / 1000), p50: median(latencies) };
    };
    const direct = `${traefik.url}/direct/v1/chat`;
    const paid = `${traefik.url}/paid/v1/chat`;
    await load(direct, {}, { connections: 16, seconds: 1 });

    const unpaidRps: number[] = [];
    const unpaidAddedP50: number[] = [];
    const paidRps: number[] = [];
    const paidAddedP50: number[] = [];
    const cpuRatio: number[] = [];
    const vsForwardAuth: number[] = [];
    const vsForwardAuthP50: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const straight = await load(direct, {}, { connections: 16, seconds: 3 });
      const unpaid = await load(paid, {}, { connections: 16, seconds: 3 });
      unpaidRps.push(round(unpaid.rps / straight.rps, 3));
      unpaidAddedP50.push(round(unpaid.p50Ms - straight.p50Ms, 2));
      // Paid, verify-only: a fresh payment per request; Traefik's CPU per proxied answer beside the verifier's.
      const headers = await Promise.all(Array.from({ length: PAID_REQUESTS }, async () => ({ "x-payment": await payment() })));
      const straightPaid = await paidLoad(direct, headers.map(() => ({})));
      const traefikBefore = cpuMs(traefik.process.child.pid!);
      const verifierBefore = cpuMs(verifier.child.pid!);
      const viaPath = await paidLoad(paid, headers);
      const traefikPer = (cpuMs(traefik.process.child.pid!) - traefikBefore) / PAID_REQUESTS;
      const verifierPer = (cpuMs(verifier.child.pid!) - verifierBefore) / PAID_REQUESTS;
      // Paid through ForwardAuth, with as many fresh payments: the same verification, Traefik forwarding.
      const faHeaders = await Promise.all(Array.from({ length: PAID_REQUESTS }, async () => ({ "x-payment": await payment() })));
      const viaForwardAuth = await paidLoad(`${traefik.url}/fa/v1/chat`, faHeaders);
      vsForwardAuth.push(round(viaPath.rps / viaForwardAuth.rps, 3));
      vsForwardAuthP50.push(round(viaPath.p50 - viaForwardAuth.p50, 2));
      paidRps.push(round(viaPath.rps / straightPaid.rps, 3));
      paidAddedP50.push(round(viaPath.p50 - straightPaid.p50, 2));
      cpuRatio.push(round(verifierPer / traefikPer, 2));
    }
    return [
      figure("data_path_unpaid_rps_vs_traefik", "unpaid answers per second: Traefik -> data path (402) / Traefik -> upstream straight", ">= 0.7", unpaidRps),
      figure("data_path_unpaid_added_p50_ms", "p50 latency the data path adds to an unpaid answer (autocannon, 16 connections)", "<= 1", unpaidAddedP50, { unit: "ms" }),
      figure("data_path_paid_rps_vs_traefik", `paid (verify-only, local chain) answers per second: Traefik -> data path -> upstream / Traefik -> upstream, ${PAID_CONCURRENCY} at a time`, "report", paidRps),
      figure("data_path_paid_added_p50_ms", "p50 latency the data path adds to a paid answer (verification on a local chain, proxying)", "report", paidAddedP50, { unit: "ms" }),
      figure("data_path_paid_rps_vs_forward_auth", "paid (verify-only) answers per second: data path / the same route through ForwardAuth (the same verification)", "report", vsForwardAuth),
      figure("data_path_paid_p50_vs_forward_auth_ms", "p50 latency of a paid answer: data path minus ForwardAuth", "report", vsForwardAuthP50, { unit: "ms" }),
      figure("data_path_cpu_per_answer_vs_traefik", "verifier CPU per proxied paid answer / Traefik's CPU per proxied answer, in the same run", "report", cpuRatio),
    ];
  } finally {
    for (const p of processes.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
    await chain.stop();
  }
}
