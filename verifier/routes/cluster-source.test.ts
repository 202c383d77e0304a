// The cluster route source against a scripted API server: the exact status writes it
// makes, and what it serves when a route is malformed or the API server goes away.
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../dev/process.ts";
import { kubeClient } from "../../kube/client.ts";
import { startTestApiServer } from "../../kube/test-server.ts";
import { jsonLogger } from "../../adapters/log.ts";
import { DEFAULT_NETWORKS } from "../../core/networks.ts";
import type { RouteSet } from "./set.ts";
import { watchClusterRoutes } from "./cluster-source.ts";

const quiet = jsonLogger({}, () => {});
const route = (name: string, amount: string, status?: object, pattern = `/services/${name}/*`, created = "2026-01-01T00:00:00Z") => ({
  apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute",
  metadata: { name, namespace: "shop", generation: 3, resourceVersion: "7", creationTimestamp: created },
  spec: { pattern, price: "0.001", amount, payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: "base-sepolia", priceModel: "perRequest" },
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
    const items = [route("good", "1000"), route("bad", "zero"), route("settled", "1000", { admitted: true, lastAdmittedGeneration: 3, reason: "Admitted", message: "charging 1000 atomic units of USDC on base-sepolia" })];
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
    expect(set!.table.lookup("/services/good/x")?.accepts[0]!.amount).toBe(1000n);
    expect(set!.table.lookup("/services/bad/x")).toBeUndefined();
    const patches = server.requests.filter((r) => r.method === "PATCH").sort((a, b) => a.path.localeCompare(b.path));
    expect(patches.map((p) => [p.path, p.contentType])).toEqual([
      ["/apis/obol.org/v1alpha1/namespaces/shop/paymentroutes/bad/status", "application/merge-patch+json"],
      ["/apis/obol.org/v1alpha1/namespaces/shop/paymentroutes/good/status", "application/merge-patch+json"],
    ]);
    expect(patches[0]!.body).toEqual({ status: { admitted: false, lastAdmittedGeneration: 3, reason: "InvalidSpec", message: expect.stringContaining("spec.amount") } });
    expect(patches[1]!.body).toEqual({ status: { admitted: true, lastAdmittedGeneration: 3, reason: "Admitted", message: "charging 1000 atomic units of USDC on base-sepolia" } });
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
    expect(set!.table.lookup("/services/good/x")?.accepts[0]!.amount).toBe(1000n);
    expect(source.current()?.table.size).toBe(1);
  });

  it("takes routes one event at a time, with a bounded number of status writes in flight", async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    let send: ((line: unknown) => void) | undefined;
    const server = await startTestApiServer(async (req) => {
      if (req.method === "PATCH") {
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return { body: {} };
      }
      if (!req.query.watch) return { body: { kind: "PaymentRouteList", metadata: { resourceVersion: "7" }, items: [] } };
      return { stream: (write) => (send = write) };
    });
    cleanup.push(server.close);
    let set: RouteSet | undefined;
    const source = watchClusterRoutes(kubeClient(server.kubeConfig), undefined, DEFAULT_NETWORKS, quiet, (s) => (set = s));
    cleanup.push(source.stop);
    await until(() => send !== undefined && set !== undefined);
    for (let i = 0; i < 200; i++) send!({ type: "ADDED", object: route(`r${i}`, "1000") });
    await until(() => set!.table.size === 200 && server.requests.filter((r) => r.method === "PATCH").length === 200);
    expect(set!.table.lookup("/services/r199/x")?.key).toBe("shop/r199");
    expect(mostInFlight).toBeLessThanOrEqual(8);
  });

  it("reports the newer of two rival routes admitted once the older one is deleted", async () => {
    let send: ((line: unknown) => void) | undefined;
    const older = route("older", "1000", undefined, "/x/*", "2026-01-01T00:00:00Z");
    const newer = route("newer", "1000", undefined, "/x/*", "2026-02-01T00:00:00Z");
    const server = await startTestApiServer((req) => {
      if (req.method === "PATCH") return { body: {} };
      if (!req.query.watch) return { body: { kind: "PaymentRouteList", metadata: { resourceVersion: "7" }, items: [older, newer] } };
      return { stream: (write) => (send = write) };
    });
    cleanup.push(server.close);
    let set: RouteSet | undefined;
    const source = watchClusterRoutes(kubeClient(server.kubeConfig), undefined, DEFAULT_NETWORKS, quiet, (s) => (set = s));
    cleanup.push(source.stop);
    const patchOf = (name: string) => server.requests.filter((r) => r.method === "PATCH" && r.path.endsWith(`/${name}/status`)).map((r) => r.body);
    await until(() => patchOf("newer").length === 1 && send !== undefined);
    expect(patchOf("newer")[0]).toMatchObject({ status: { admitted: false, reason: "PatternConflict" } });
    expect(set!.table.lookup("/x/1")?.key).toBe("shop/older");
    send!({ type: "DELETED", object: older });
    await until(() => patchOf("newer").length === 2);
    expect(patchOf("newer")[1]).toMatchObject({ status: { admitted: true, reason: "Admitted" } });
    expect(set!.table.lookup("/x/1")?.key).toBe("shop/newer");
  });

  it("drops the routes a relist no longer shows", async () => {
    let lists = 0;
    const server = await startTestApiServer((req) => {
      if (req.method === "PATCH") return { body: {} };
      if (!req.query.watch) {
        lists++;
        return { body: { kind: "PaymentRouteList", metadata: { resourceVersion: "7" }, items: lists === 1 ? [route("kept", "1000"), route("gone", "1000")] : [route("kept", "1000")] } };
      }
      return { stream: (write, end) => lists === 1 ? (write({ type: "ERROR", object: { code: 410, message: "too old" } }), end()) : undefined };
    });
    cleanup.push(server.close);
    let set: RouteSet | undefined;
    const source = watchClusterRoutes(kubeClient(server.kubeConfig), undefined, DEFAULT_NETWORKS, quiet, (s) => (set = s));
    cleanup.push(source.stop);
    await until(() => lists === 2 && set?.table.size === 1);
    expect(set!.table.lookup("/services/gone/x")).toBeUndefined();
    expect(set!.table.lookup("/services/kept/x")?.key).toBe("shop/kept");
  });

  it("watches each namespace it is given, and publishes once all of them have listed", async () => {
    let releaseOther: (() => void) | undefined;
    const otherListed = new Promise<void>((r) => (releaseOther = r));
    const server = await startTestApiServer(async (req) => {
      if (req.method === "PATCH") return { body: {} };
      if (req.query.watch) return { stream: () => {} };
      if (req.path.includes("/namespaces/other/")) await otherListed;
      const items = req.path.includes("/namespaces/shop/") ? [route("good", "1000")] : [{ ...route("elsewhere", "1000"), metadata: { ...route("elsewhere", "1000").metadata, namespace: "other" } }];
      return { body: { kind: "PaymentRouteList", apiVersion: "obol.org/v1alpha1", metadata: { resourceVersion: "7" }, items } };
    });
    cleanup.push(server.close);
    const published: RouteSet[] = [];
    const source = watchClusterRoutes(kubeClient(server.kubeConfig), ["shop", "other", "shop"], DEFAULT_NETWORKS, quiet, (s) => published.push(s));
    cleanup.push(source.stop);
    const lists = () => server.requests.filter((r) => r.method === "GET" && !r.query.watch).map((r) => r.path).sort();
    await until(() => lists().length === 2 && server.requests.some((r) => r.query.watch));
    expect(lists()).toEqual(["/apis/obol.org/v1alpha1/namespaces/other/paymentroutes", "/apis/obol.org/v1alpha1/namespaces/shop/paymentroutes"]);
    await new Promise((r) => setTimeout(r, 50));
    expect(published).toHaveLength(0);
    expect(server.requests.filter((r) => r.method === "PATCH")).toHaveLength(0); // nothing judged before every scope is known
    releaseOther!();
    await until(() => server.requests.filter((r) => r.method === "PATCH").length === 2);
    expect(published).toHaveLength(1);
    expect(published[0]!.table.lookup("/services/elsewhere/x")?.key).toBe("other/elsewhere");
    expect(source.current()?.table.size).toBe(2);
  });
});
