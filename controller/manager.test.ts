// The controller process against a scripted API server: its ops endpoints, its readiness
// as leader and as standby, and a clean stop that lets go of the lease.
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../adapters/clock.ts";
import { jsonLogger } from "../adapters/log.ts";
import { configWith } from "../core/config.ts";
import { waitFor } from "../dev/process.ts";
import { kubeClient } from "../kube/client.ts";
import { type Recorded, type Reply, startTestApiServer } from "../kube/test-server.ts";
import { type ManagerOptions, startManager } from "./manager.ts";

const quiet = jsonLogger({}, () => {});
let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** Lists answer once `release` is called (empty), watches stay open; leases are answered by `lease`. */
async function cluster(lease: (req: Recorded) => Reply = () => ({ status: 404, body: {} })) {
  let release!: () => void;
  const listed = new Promise<void>((r) => (release = r));
  const server = await startTestApiServer(async (req) => {
    if (req.path.includes("/leases")) return lease(req);
    if (req.query.watch) return { stream: () => {} };
    await listed;
    return { body: { metadata: { resourceVersion: "1" }, items: [] } };
  });
  cleanup.push(server.close);
  return { server, release };
}

async function start(server: Awaited<ReturnType<typeof startTestApiServer>>, options: Partial<ManagerOptions> = {}) {
  let stop!: (reason: string) => void;
  const manager = await startManager({
    client: kubeClient(server.kubeConfig), config: configWith(), log: quiet, clock: systemClock, identity: "pod-a",
    listen: { hostname: "127.0.0.1", port: 0 }, probe: { mode: "dns", intervalMs: 10_000, timeoutMs: 100 }, concurrency: 1,
    stopping: new Promise<string>((r) => (stop = r)), ...options,
  });
  cleanup.push(() => (stop("cleanup"), manager.done));
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${manager.address.port}${path}`);
    return [response.status, await response.text()] as const;
  };
  return { manager, get, stop };
}

describe("startManager", () => {
  it("serves health at once, readiness once the caches are filled, and metrics; stops on request", async () => {
    const { server, release } = await cluster();
    const { manager, get, stop } = await start(server);
    expect(await get("/healthz")).toEqual([200, "ok"]);
    expect(await get("/readyz")).toEqual([503, "caches not synced yet"]);
    release();
    await waitFor("ready", async () => (await get("/readyz"))[0] === 200, 5000);
    expect((await get("/metrics"))[1]).toContain("x402_controller_queue_depth");
    stop("SIGTERM");
    expect(await manager.done).toBe("SIGTERM");
    await expect(fetch(`http://127.0.0.1:${manager.address.port}/healthz`)).rejects.toThrow();
  });

  it("as a standby waits ready without reconciling, as the leader reconciles, and lets go of the lease on stop", async () => {
    let holder = "pod-b";
    const lease = (req: Recorded): Reply => {
      const spec = { holderIdentity: holder, leaseDurationSeconds: 1, renewTime: new Date().toISOString() };
      if (req.method === "PUT") return { body: { metadata: { name: "x402-controller", namespace: "x402", resourceVersion: "2" }, spec: (req.body as { spec: object }).spec } };
      return { body: { metadata: { name: "x402-controller", namespace: "x402", resourceVersion: "1" }, spec } };
    };
    const { server, release } = await cluster(lease);
    release();
    const election = { leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 50 };
    const { manager, get, stop } = await start(server, { lease: { namespace: "x402", name: "x402-controller" }, election });
    await waitFor("a lease attempt", async () => server.requests.some((r) => r.path.endsWith("/leases/x402-controller")), 5000);
    expect(await get("/readyz")).toEqual([200, "ok"]);
    expect((await get("/metrics"))[1]).not.toMatch(/^x402_controller_leader 1$/m);
    expect(server.requests.some((r) => r.path.includes("serviceoffers"))).toBe(false);
    holder = ""; // the other replica let go
    await waitFor("leading", async () => /^x402_controller_leader 1$/m.test((await get("/metrics"))[1]), 5000);
    await waitFor("reconciling", async () => server.requests.some((r) => r.path.includes("serviceoffers")), 5000);
    stop("SIGTERM");
    expect(await manager.done).toBe("SIGTERM");
    const puts = server.requests.filter((r) => r.method === "PUT").map((r) => (r.body as { spec: { holderIdentity: string } }).spec.holderIdentity);
    expect(puts.at(-1)).toBe(""); // released, and last: a standby takes over at once
  });
});
