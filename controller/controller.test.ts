// The controller against a scripted API server: the writes it makes for a new offer, in
// which order and how many, and that its own writes coming back on the watches are no news.
import { afterEach, describe, expect, it } from "vitest";
import { configWith } from "../core/config.ts";
import type { KubeObject } from "../core/kube.ts";
import type { OfferEvent } from "../core/transitions.ts";
import { waitFor } from "../dev/process.ts";
import { systemClock } from "../adapters/clock.ts";
import type { ProbeTarget } from "./health-probe.ts";
import type { ProbeScheduler } from "./probe-scheduler.ts";
import { jsonLogger } from "../adapters/log.ts";
import { kubeClient } from "../kube/client.ts";
import { startController } from "./controller.ts";
import { controllerMetrics } from "./metrics.ts";
import { type Recorded, type Reply, startTestApiServer } from "../kube/test-server.ts";

const quiet = jsonLogger({}, () => {});
const config = configWith();
const until = (what: string, check: () => boolean) => waitFor(what, async () => check(), 5000);
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const offer: KubeObject = {
  apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer",
  metadata: { name: "demo", namespace: "shop", uid: "uid-demo", generation: 1, resourceVersion: "10" },
  spec: {
    upstream: { service: "api", namespace: "backend", port: 8080 },
    payment: { network: "base-sepolia", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", price: { perRequest: "0.001" } },
  },
};
/** A healthy upstream, and the targets the controller asked for. */
function healthy(probed: ProbeTarget[] = []): ProbeScheduler {
  return { observe: async (_, target) => (probed.push(target), { healthy: true, message: "200" }), latest: () => undefined, forget: () => {}, stop: () => {} };
}

/**
 * An API server holding one offer: lists, watches (events are sent by the test), and
 * answers every write with the object as stored, at the next resourceVersion. Children's
 * applies wait until `answerApplies` says so, to see which arrive together.
 */
async function fakeCluster() {
  let version = 10;
  const watches = new Map<string, (line: unknown) => void>();
  const writes: Recorded[] = [];
  let release: (() => void) | undefined;
  let held = Promise.resolve();
  const stored = new Map<string, KubeObject>();
  const server = await startTestApiServer(async (req): Promise<Reply> => {
    const plural = req.path.split("/").filter(Boolean).at(req.path.endsWith("/status") ? -3 : -2)!;
    if (req.method === "GET") {
      const collection = req.path.split("/").at(-1)!;
      if (req.query.watch) return { stream: (write) => void watches.set(collection, write) };
      return { body: { metadata: { resourceVersion: "10" }, items: collection === "serviceoffers" ? [offer] : [] } };
    }
    writes.push(req);
    if (req.method === "POST") return { body: {} }; // an Event
    if (req.contentType === "application/apply-patch+yaml" && plural !== "serviceoffers") await held;
    const key = req.path.replace(/\/status$/, "");
    const before = stored.get(key) ?? (plural === "serviceoffers" ? offer : undefined);
    const body = req.body as KubeObject;
    const after: KubeObject = req.contentType === "application/json-patch+json"
      ? { ...before!, metadata: { ...before!.metadata, finalizers: [config.finalizer] } }
      : req.path.endsWith("/status")
        ? { ...before!, status: body.status }
        : { ...body, metadata: { ...body.metadata, generation: 1, uid: `uid-${body.metadata.name}` } };
    after.metadata = { ...after.metadata, resourceVersion: String(++version) };
    stored.set(key, after);
    return { body: after };
  });
  return {
    server, writes, stored, watches,
    holdApplies: () => (held = new Promise<void>((r) => (release = r))),
    answerApplies: () => release?.(),
    /** Sends the object as a watch event, as the API server would after a write. */
    echo: (plural: string, object: KubeObject, type = "MODIFIED") => watches.get(plural)!({ type, object }),
    describe: (r: Recorded) => `${r.path.split("/").slice(-2).join("/")}`,
  };
}

describe("controller", () => {
  it("writes a new offer's gate children at once, no status until the verifier answers, then the HTTPRoute and Ready", async () => {
    const cluster = await fakeCluster();
    cleanup.push(cluster.server.close);
    const events: OfferEvent[] = [];
    const metrics = controllerMetrics();
    cluster.holdApplies();
    const probed: ProbeTarget[] = [];
    const controller = startController({
      client: kubeClient(cluster.server.kubeConfig), config, log: quiet, clock: systemClock, probes: healthy(probed),
      events: (_, event) => events.push(event), metrics, concurrency: 4,
    });
    cleanup.push(() => controller.stop());

    // The finalizer first; then PaymentRoute, Middleware and ReferenceGrant, all three sent
    // before any is answered (a controller writing them one by one would wait here forever).
    await until("the gate's children sent together", () => cluster.writes.length === 4);
    expect(probed[0]).toEqual({ namespace: "backend", service: "api", port: 8080, healthPath: "/health" }); // the upstream the core named
    expect(cluster.writes[0]).toMatchObject({ method: "PATCH", contentType: "application/json-patch+json", path: "/apis/obol.org/v1alpha1/namespaces/shop/serviceoffers/demo" });
    expect(cluster.writes.slice(1).map(cluster.describe).sort()).toEqual(["middlewares/x402-demo", "paymentroutes/demo-payment", "referencegrants/so-shop-demo"]);
    cluster.answerApplies();
    await until("the round done", () => metrics.registry.render().includes('x402_controller_reconciles_total{result="ok"} 1'));

    // Our own writes coming back on the watches are no news: no reconcile, no write.
    const path = (plural: string, ns: string, name: string, group = "obol.org/v1alpha1") => `/apis/${group}/namespaces/${ns}/${plural}/${name}`;
    cluster.echo("serviceoffers", cluster.stored.get(path("serviceoffers", "shop", "demo"))!);
    cluster.echo("paymentroutes", cluster.stored.get(path("paymentroutes", "shop", "demo-payment"))!, "ADDED");
    cluster.echo("middlewares", cluster.stored.get(path("middlewares", "shop", "x402-demo", "traefik.io/v1alpha1"))!, "ADDED");
    await new Promise((r) => setTimeout(r, 200));
    expect(metrics.registry.render()).toContain('x402_controller_reconciles_total{result="ok"} 1');
    expect(cluster.writes).toHaveLength(4); // no status yet: it would only have said "waiting for the verifier"

    // The verifier admits the PaymentRoute: the HTTPRoute goes out, then one status, Ready.
    const route = cluster.stored.get(path("paymentroutes", "shop", "demo-payment"))!;
    cluster.echo("paymentroutes", { ...route, metadata: { ...route.metadata, resourceVersion: "100" }, status: { admitted: true, lastAdmittedGeneration: 1 } });
    await until("published", () => cluster.writes.length === 6);
    expect(cluster.writes.slice(4).map(cluster.describe)).toEqual(["httproutes/so-demo", "demo/status"]);
    expect(cluster.writes[5]!.body).toMatchObject({ status: { conditions: expect.arrayContaining([expect.objectContaining({ type: "Ready", status: "True" })]) } });
    await until("the event recorded", () => events.length === 1);
    expect(events.map((e) => e.reason)).toEqual(["Published"]);
  });
});
