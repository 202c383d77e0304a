// The figures that need the real stack: how fast a price edit reaches the verifier, how
// fast offers converge against a plain client making the same writes, idle writes, and
// memory with many routes and offers.
import { formatAtomic } from "../core/decimal.ts";
import { readFileSync } from "node:fs";
import type { KubeClient } from "../kube/client.ts";
import { childResource, PAYMENT_ROUTE } from "../core/kinds.ts";
import { resourcePath } from "../kube/resources.ts";
import { DEFAULT_CONFIG } from "../core/config.ts";
import { NOTHING_OBSERVED } from "../core/observed.ts";
import { reconcile } from "../core/reconcile.ts";
import { apply, getOrUndefined } from "../dev/apply.ts";
import { applyOffer, controllerWrites, offerPath } from "../dev/cluster-helpers.ts";
import { deploymentMemoryLimit } from "../dev/memory-limit.ts";
import { startStack, UPSTREAM } from "../dev/stack.ts";
import { waitFor } from "../dev/process.ts";
import { figure, type Figure, percentile, round } from "./stats.ts";

/** How the process ran: under its Deployment's memory limit (dev/memory-limit.ts), or without one. */
function memoryNote(pid: number, component: "controller" | "verifier"): string {
  const inCgroup = readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(`x402-${component}-`);
  return inCgroup ? `run under its Deployment's memory limit (${deploymentMemoryLimit(component) / 2 ** 20} MiB, a memory cgroup, as the kubelet runs it)` : "run without a memory limit (no memory cgroup could be made here)";
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function readyCount(admin: KubeClient, namespace: string): Promise<number> {
  const list = await admin.request<{ items: { metadata: { generation: number }; status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } }[] }>("GET", offerPath(namespace));
  return list.items.filter((o) => o.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length;
}

async function reconciledCount(admin: KubeClient, namespace: string): Promise<number> {
  const list = await admin.request<{ items: { metadata: { generation: number }; status?: { observedGeneration?: number } }[] }>("GET", offerPath(namespace));
  return list.items.filter((o) => o.status?.observedGeneration === o.metadata.generation).length;
}

export async function clusterFigures(log: (line: string) => void): Promise<Figure[]> {
  const stack = await startStack();
  try {
    const verifier = await stack.startVerifier("node");
    const figures: Figure[] = [];
    const spec = (price = "0.001") => ({ upstream: { service: UPSTREAM.service, namespace: UPSTREAM.namespace, port: UPSTREAM.port }, payment: { network: "base-sepolia", payTo: stack.payTo, price: { perRequest: price } } });

    // propagation: edits of a PaymentRoute's price, until the verifier asks the new one.
    await apply(stack.admin, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } }]);
    const routePath = resourcePath(PAYMENT_ROUTE, "bench", "edited");
    const priced = (amount: number) => ({ apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "edited", namespace: "bench" }, spec: { pattern: "/edited/*", price: formatAtomic(BigInt(amount), 6), payTo: stack.payTo, network: "base-sepolia", priceModel: "perRequest" } });
    await apply(stack.admin, [priced(1)]);
    const asked = async () => (await (await fetch(stack.verifierUrl, { headers: { "x-forwarded-uri": "/edited/x" } })).json()).accepts?.[0]?.maxAmountRequired;
    await waitFor("first price", async () => (await asked()) === "1", 10_000);
    const delays: number[] = [];
    for (let i = 2; i <= 101; i++) {
      const started = performance.now();
      await stack.admin.request("PATCH", routePath, { contentType: "application/merge-patch+json", body: { spec: { price: formatAtomic(BigInt(i), 6) } } });
      await waitFor(`price ${i}`, async () => (await asked()) === String(i), 10_000);
      delays.push(performance.now() - started);
    }
    figures.push(figure("propagation_p99_ms", "p99 ms from a PaymentRoute price edit to the verifier's new 402 (100 edits)", "<= 500", [round(percentile(delays, 99), 0)], { note: `median ${round(percentile(delays, 50), 0)} ms`, unit: "ms" }));
    log(`propagation: p99 ${round(percentile(delays, 99), 0)} ms`);

    // The baseline first, before any controller runs: a plain client writing, per offer, the
    // offer, its three children and one status, with the same parallelism we give the controller.
    const names = Array.from({ length: 300 }, (_, i) => `offer-${i}`);
    await apply(stack.admin, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "converge" } }, { apiVersion: "v1", kind: "Namespace", metadata: { name: "raw" } }]);
    const rawStarted = performance.now();
    await inParallel(names, 16, async (name) => {
      const offerSpec = { ...spec(), upstream: { ...spec().upstream, namespace: "raw" } };
      await applyOffer(stack.admin, "raw", name, offerSpec);
      const offer = { apiVersion: "obol.org/v1alpha1" as const, kind: "ServiceOffer" as const, metadata: { name, namespace: "raw" }, spec: offerSpec };
      for (const child of reconcile(offer, NOTHING_OBSERVED, DEFAULT_CONFIG, new Date()).desired) {
        await stack.admin.request("POST", resourcePath(childResource(child.kind)!, "raw"), { body: child });
      }
      await stack.admin.request("PATCH", `${offerPath("raw", name)}/status`, { contentType: "application/merge-patch+json", body: { status: { observedGeneration: 1, conditions: [{ type: "Ready", status: "True", reason: "Raw", message: "", lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z") }] } } });
    });
    const rawMs = performance.now() - rawStarted;
    await stack.admin.request("DELETE", "/api/v1/namespaces/raw");
    await waitFor("baseline namespace gone", async () => (await getOrUndefined(stack.admin, "/api/v1/namespaces/raw")) === undefined, 120_000);

    // converge: 300 new offers until every one is Ready (admitted by the verifier, accepted by Traefik).
    const controller = await stack.startController("node", "bench", ["--concurrency", "16"], { leaderElect: false });
    const convergeStarted = performance.now();
    await inParallel(names, 16, (name) => applyOffer(stack.admin, "converge", name, spec()));
    await waitFor("300 offers Ready", async () => (await readyCount(stack.admin, "converge")) === names.length, 300_000);
    const convergeMs = performance.now() - convergeStarted;
    // What the controller did meanwhile, to explain the figure.
    const metrics = await (await fetch(`${controller.url}/metrics`)).text();
    const sum = (prefix: string) => [...metrics.matchAll(new RegExp(`^${prefix}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$`, "gm"))].reduce((a, m) => a + Number(m[1]), 0);
    const reconciles = sum("x402_controller_reconciles_total");
    const writes = sum("x402_controller_writes_total");
    const busySeconds = sum("x402_controller_reconcile_duration_seconds_sum");
    figures.push(figure("converge_vs_raw_api", "time for 300 offers to reach Ready / a plain client writing the same objects", "<= 2", [round(convergeMs / rawMs)], {
      note: `${round(convergeMs / 1000, 1)} s vs ${round(rawMs / 1000, 1)} s; ${reconciles} reconciles, ${writes} writes, ${round(busySeconds, 1)} s spent reconciling`,
    }));
    log(`converge: ${round(convergeMs)} ms vs raw ${round(rawMs)} ms`);

    // idle: nothing changes for 60 s; every write the controller makes is counted. The last
    // Events of the convergence (sent right after its final status writes) settle first.
    await new Promise((r) => setTimeout(r, 5000));
    const idleStarted = Date.now();
    await new Promise((r) => setTimeout(r, 60_000));
    const idleWrites = controllerWrites(stack, idleStarted, { includeLeases: true });
    const idle = idleWrites.length;
    const seen = [...new Set(idleWrites.map((e) => `${e.verb} ${e.objectRef?.resource}`))].join(", ");
    figures.push(figure("idle_writes_60s", "API writes by the controller in 60 s with nothing changing (audit log)", "0", [idle], { note: `300 offers in place; controller without leader election (its Lease renewals would be writes)${seen ? `; seen: ${seen}` : ""}` }));
    log(`idle writes: ${idle}`);

    // memory: the controller with 1,000 offers reconciled, the verifier with 10,000 routes.
    const more = Array.from({ length: 700 }, (_, i) => `offer-${300 + i}`);
    await inParallel(more, 16, (name) => applyOffer(stack.admin, "converge", name, spec()));
    await waitFor("1000 offers reconciled", async () => (await reconciledCount(stack.admin, "converge")) === 1000, 600_000);
    figures.push(figure("controller_rss_mb_1k_offers", "controller resident memory with 1,000 offers reconciled (MB)", "<= 200", [round(rssMb(controller.process.child.pid!), 0)], { unit: "MB", note: memoryNote(controller.process.child.pid!, "controller") }));
    const routes = Array.from({ length: 10_000 - 1001 }, (_, i) => ({ apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: `r-${i}`, namespace: "bench" }, spec: { pattern: `/bulk/${i}/*`, price: "0.001", amount: "1000", payTo: stack.payTo, network: "base-sepolia", priceModel: "perRequest" } }));
    await inParallel(routes, 32, (route) => apply(stack.admin, [route]));
    const routeCount = async () => Number(/x402_verifier_routes (\d+)/.exec(await (await fetch(`${verifier.url}/metrics`)).text())?.[1] ?? 0);
    await waitFor("10,000 routes loaded", async () => (await routeCount()) >= 10_000, 300_000);
    await new Promise((r) => setTimeout(r, 2000));
    figures.push(figure("verifier_rss_mb_10k_routes", "verifier resident memory with 10,000 PaymentRoutes loaded (MB)", "<= 150", [round(rssMb(verifier.process.child.pid!), 0)], { unit: "MB", note: `${await routeCount()} routes in its table; ${memoryNote(verifier.process.child.pid!, "verifier")}` }));
    return figures;
  } finally {
    await stack.stop();
  }
}
