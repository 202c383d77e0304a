// The cluster route source against a scripted API server: the exact status writes it
// makes, and what it serves when a route is malformed or the API server goes away.
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../tests/support/process.ts";
import { kubeClient } from "../adapters/k8s/client.ts";
import { startTestApiServer } from "../adapters/k8s/test-server.ts";
import { jsonLogger } from "../adapters/log.ts";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import type { RouteSet } from "./route-set.ts";
import { watchClusterRoutes } from "./routes-cluster.ts";

const quiet = jsonLogger({}, () => {});
const route = (name: string, amount: string, status?: object) => ({
  apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute",
  metadata: { name, namespace: "shop", generation: 3, resourceVersion: "7", creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: { pattern: `/services/${name}/*`, price: "0.001", amount, payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base-sepolia", priceModel: "perRequest" },
  ...(status ? { status } : {}),
});
const until = (check: () => boolean) => waitFor("condition", async () => check(), 5000);
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe("watchClusterRoutes", () => {
  it("serves good routes, refuses a malformed one in its status, and writes status only when it changes", async () => {
    const items = [route("good", "1000"), route("bad", "zero"), route("settled", "5", { admitted: true, lastAdmittedGeneration: 3, reason: "Admitted", message: "charging 5 atomic units on base-sepolia" })];
    const server = await startTestApiServer((req) => {
      if (req.method === "PATCH") return { body: {} };
      if (!req.query.watch) return { body: { kind: "PaymentRouteList", apiVersion: "obol.org/v1alpha1", metadata: { resourceVersion: "7" }, items } };
      return { stream: () => {} };
    });
    cleanup.push(server.close);
    let set: RouteSet | undefined;
    const source = watchClusterRoutes(kubeClient(server.kubeConfig), undefined, DEFAULT_NETWORKS, quiet, (s) => (set = s));
    cleanup.push(source.stop);
    await until(() => server.requests.filter((r) => r.method === "PATCH").length === 2);
    expect(set!.table.lookup("/services/good/x")?.amount).toBe(1000n);
    expect(set!.table.lookup("/services/bad/x")).toBeUndefined();
    const patches = server.requests.filter((r) => r.method === "PATCH").sort((a, b) => a.path.localeCompare(b.path));
    expect(patches.map((p) => [p.path, p.contentType])).toEqual([
      ["/apis/obol.org/v1alpha1/namespaces/shop/paymentroutes/bad/status", "application/merge-patch+json"],
      ["/apis/obol.org/v1alpha1/namespaces/shop/paymentroutes/good/status", "application/merge-patch+json"],
    ]);
    expect(patches[0]!.body).toEqual({ status: { admitted: false, lastAdmittedGeneration: 3, reason: "InvalidSpec", message: expect.stringContaining("spec.amount") } });
    expect(patches[1]!.body).toEqual({ status: { admitted: true, lastAdmittedGeneration: 3, reason: "Admitted", message: "charging 1000 atomic units on base-sepolia" } });
    expect(source.ready()).toBe(true);
  });

  it("keeps serving its last table while the API server is unreachable", async () => {
    let down = false;
    const server = await startTestApiServer((req) => {
      if (down) return { status: 503, body: { message: "down" } };
      if (req.method === "PATCH") return { body: {} };
      if (!req.query.watch) return { body: { kind: "PaymentRouteList", metadata: { resourceVersion: "7" }, items: [route("good", "1000")] } };
      return { stream: (_write, end) => setTimeout(end, 50) }; // the watch ends; the next list fails
    });
    cleanup.push(server.close);
    let set: RouteSet | undefined;
    const source = watchClusterRoutes(kubeClient(server.kubeConfig), undefined, DEFAULT_NETWORKS, quiet, (s) => (set = s));
    cleanup.push(source.stop);
    await until(() => set !== undefined);
    down = true;
    await new Promise((r) => setTimeout(r, 300));
    expect(set!.table.lookup("/services/good/x")?.amount).toBe(1000n);
    expect(source.current()?.table.size).toBe(1);
  });
});
