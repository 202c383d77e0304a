// The order of the writes that carry out a decision, recorded by a scripted API server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configWith } from "../core/config.ts";
import type { KubeObject } from "../core/kube.ts";
import type { ReconcileResult } from "../core/reconcile.ts";
import type { OfferEvent } from "../core/transitions.ts";
import { kubeClient } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { startTestApiServer } from "../kube/test-server.ts";
import { applyDecision } from "./apply-decision.ts";
import { controllerMetrics } from "./metrics.ts";

let server: Awaited<ReturnType<typeof startTestApiServer>>;
let failing = "";
beforeAll(async () => {
  server = await startTestApiServer((req) => (failing && req.path.includes(failing) ? { status: 500, body: { message: "etcd" } } : { body: { metadata: { name: "x", resourceVersion: "2" } } }));
});
afterAll(() => server.close());

const config = configWith();
const offer: KubeObject = { apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name: "demo", namespace: "shop", resourceVersion: "1", finalizers: [config.finalizer] } };
const child = (kind: string, apiVersion: string, name: string): KubeObject => ({ apiVersion, kind, metadata: { name, namespace: "shop" } });
const decision = (overrides: Partial<ReconcileResult>): ReconcileResult => ({
  desired: [], apply: [], delete: [], status: { conditions: [] }, statusChanged: false, issues: [], events: [], ...overrides,
});

async function run(result: ReconcileResult) {
  const before = server.requests.length;
  const events: OfferEvent[] = [];
  const remembered: string[] = [];
  const deps = { client: kubeClient(server.kubeConfig), config, metrics: controllerMetrics(), events: (_: KubeObject, e: OfferEvent) => events.push(e), remember: (o: KubeObject) => remembered.push(o.metadata.name) };
  const outcome = await applyDecision(deps, offer, result).then(() => undefined, (error: unknown) => error);
  const writes = server.requests.slice(before).map((r) => `${r.method} ${r.path.split("/").slice(-2).join("/")}`);
  return { outcome, writes, events, remembered };
}

describe("applyDecision", () => {
  it("writes the finalizer, the gate's children, the HTTPRoute, the deletes, then the status, and tells the Events last", async () => {
    const { outcome, writes, events, remembered } = await run(decision({
      finalizer: "add",
      apply: [child("HTTPRoute", "gateway.networking.k8s.io/v1", "so-demo"), child("PaymentRoute", "obol.org/v1alpha1", "demo-payment")],
      delete: [{ apiVersion: "traefik.io/v1alpha1", kind: "Middleware", namespace: "shop", name: "old" }],
      statusChanged: true,
      events: [{ type: "Normal", reason: "Published", message: "served" }],
    }));
    expect(outcome).toBeUndefined();
    expect(writes).toEqual(["PATCH serviceoffers/demo", "PATCH paymentroutes/demo-payment", "PATCH httproutes/so-demo", "DELETE middlewares/old", "PATCH demo/status"]);
    expect(remembered).toHaveLength(4); // the finalizer's, both applies' and the status's answers
    expect(events.map((e) => e.reason)).toEqual(["Published"]);
  });

  it("never sends the HTTPRoute, the status or the Events when a gate child fails", async () => {
    failing = "paymentroutes";
    const { outcome, writes, events } = await run(decision({
      apply: [child("PaymentRoute", "obol.org/v1alpha1", "demo-payment"), child("HTTPRoute", "gateway.networking.k8s.io/v1", "so-demo")],
      statusChanged: true,
      events: [{ type: "Normal", reason: "Published", message: "served" }],
    }));
    failing = "";
    expect(isKubeError(outcome, "unavailable")).toBe(true);
    expect(writes).toEqual(["PATCH paymentroutes/demo-payment"]);
    expect(events).toEqual([]);
  });

  it("removes the finalizer after the deletes", async () => {
    const { writes, events } = await run(decision({ finalizer: "remove", events: [{ type: "Normal", reason: "CleanedUp", message: "done" }] }));
    expect(writes).toEqual(["PATCH serviceoffers/demo"]);
    expect(server.requests.at(-1)!.body).toEqual([
      { op: "test", path: "/metadata/finalizers/0", value: config.finalizer },
      { op: "remove", path: "/metadata/finalizers/0" },
    ]);
    expect(events.map((e) => e.reason)).toEqual(["CleanedUp"]);
  });
});
