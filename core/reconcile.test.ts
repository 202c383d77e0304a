// Reconcile run in a loop against a tiny in-memory cluster: it must converge to Ready in a
// few passes, then make no writes at all, and repair whatever is changed behind its back.
import { describe, expect, it } from "vitest";
import { configWith } from "./config.ts";
import { type KubeObject, refOf, sameObject } from "./kube.ts";
import type { Observed } from "./observed.ts";
import { reconcile } from "./reconcile.ts";
import type { ServiceOfferEnvelope } from "./service-offer.ts";

const config = configWith();
const now = new Date("2026-01-01T00:00:00Z");

function newOffer(spec: Record<string, unknown> = {}): ServiceOfferEnvelope {
  return {
    apiVersion: "obol.org/v1alpha1",
    kind: "ServiceOffer",
    metadata: { name: "demo", namespace: "shop", uid: "uid-1", generation: 1 },
    spec: {
      upstream: { service: "api", namespace: "backend", port: 8080 },
      payment: { network: "base", payTo: "0x1111111111111111111111111111111111111111", price: { perRequest: "0.01" } },
      ...spec,
    },
  };
}

/** Applies a result the way the adapters and the verifier would, and counts the writes. */
function step(offer: ServiceOfferEnvelope, children: KubeObject[], observed: Omit<Observed, "children">) {
  const result = reconcile(offer, { ...observed, children }, config, now);
  let writes = result.apply.length + result.delete.length + (result.statusChanged ? 1 : 0) + (result.finalizer ? 1 : 0);
  for (const object of result.apply) {
    const index = children.findIndex((c) => sameObject(refOf(c), refOf(object)));
    const generation = (children[index]?.metadata.generation ?? 0) + 1;
    const applied: KubeObject = { ...structuredClone(object), metadata: { ...object.metadata, generation } };
    if (index >= 0) children[index] = applied;
    else children.push(applied);
  }
  for (const ref of result.delete) children.splice(children.findIndex((c) => sameObject(refOf(c), ref)), 1);
  // The verifier admits every PaymentRoute it sees; the gateway accepts every HTTPRoute.
  for (const child of children) {
    if (child.kind === "PaymentRoute") child.status = { admitted: true, lastAdmittedGeneration: child.metadata.generation };
    if (child.kind === "HTTPRoute") {
      const conditions = ["Accepted", "ResolvedRefs"].map((type) => ({ type, status: "True", observedGeneration: child.metadata.generation }));
      child.status = { parents: [{ parentRef: { name: "traefik-gateway", namespace: "traefik" }, conditions }] };
    }
  }
  if (result.finalizer === "add") offer.metadata.finalizers = [config.finalizer];
  if (result.finalizer === "remove") offer.metadata.finalizers = [];
  offer.status = result.status;
  return { result, writes };
}

function converge(offer: ServiceOfferEnvelope, children: KubeObject[], observed: Omit<Observed, "children">) {
  for (let pass = 1; pass <= 10; pass++) {
    if (step(offer, children, observed).writes === 0) return pass;
  }
  throw new Error("did not converge in 10 passes");
}

const readyOf = (offer: ServiceOfferEnvelope) =>
  (offer.status as { conditions: { type: string; status: string }[] }).conditions.find((c) => c.type === "Ready")?.status;

describe("reconcile in a loop", () => {
  it("converges to Ready and then makes no writes", () => {
    const offer = newOffer();
    const children: KubeObject[] = [];
    const healthy = { upstream: { healthy: true, message: "200" } };
    expect(converge(offer, children, healthy)).toBeLessThanOrEqual(5);
    expect(readyOf(offer)).toBe("True");
    expect(children.map((c) => c.kind).sort()).toEqual(["HTTPRoute", "Middleware", "PaymentRoute", "ReferenceGrant"]);
    expect(step(offer, children, healthy).writes).toBe(0);
  });

  it("writes a new offer's status once when the verifier answers at once: Ready", () => {
    const offer = newOffer();
    const children: KubeObject[] = [];
    const healthy = { upstream: { healthy: true, message: "200" } };
    const statuses: string[] = [];
    for (let pass = 0; pass < 5; pass++) {
      const { result } = step(offer, children, healthy);
      if (result.statusChanged) statuses.push(result.status.conditions.find((c) => c.type === "Ready")!.reason);
    }
    expect(statuses).toEqual(["Published"]);
  });

  it("shows the wait for a verifier that does not answer from the next round on, and holds the route back", () => {
    const offer = newOffer();
    const first = reconcile(offer, { children: [], upstream: { healthy: true, message: "200" } }, config, now);
    expect(first.statusChanged).toBe(false);
    expect(first.requeueAfterSeconds).toBe(config.recheckSeconds.admission);
    // Applied, never admitted.
    const children = first.apply.map((c) => ({ ...c, metadata: { ...c.metadata, generation: 1 } }));
    offer.metadata.finalizers = [config.finalizer];
    const second = reconcile(offer, { children, upstream: { healthy: true, message: "200" } }, config, now);
    expect(second.apply).toEqual([]);
    expect(second.statusChanged).toBe(true);
    expect(second.status.conditions.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "AwaitingVerifier" });
  });

  it("writes an upstream gone unhealthy at once, though the PaymentRoute it re-applies awaits the verifier", () => {
    const offer = newOffer();
    const children: KubeObject[] = [];
    converge(offer, children, { upstream: { healthy: true, message: "200" } });
    const result = reconcile(offer, { children, upstream: { healthy: false, message: "refused" } }, config, now);
    expect(result.apply.map((c) => c.kind)).toEqual(["PaymentRoute"]);
    expect(result.statusChanged).toBe(true);
    expect(result.status.conditions.find((c) => c.type === "UpstreamHealthy")?.status).toBe("False");
  });

  it("repairs an admitted PaymentRoute's labels without Ready leaving True", () => {
    const offer = newOffer();
    const children: KubeObject[] = [];
    const healthy = { upstream: { healthy: true, message: "200" } };
    converge(offer, children, healthy);
    const route = children.find((c) => c.kind === "PaymentRoute")!;
    route.metadata.labels = {};
    const { result } = step(offer, children, healthy);
    expect(result.apply.map((c) => c.kind)).toEqual(["PaymentRoute"]);
    expect(result.statusChanged).toBe(false);
    expect(readyOf(offer)).toBe("True");
  });

  it("never creates the HTTPRoute before the gate is admitted", () => {
    const offer = newOffer();
    const first = reconcile(offer, { children: [] }, config, now);
    expect(first.apply.map((c) => c.kind)).not.toContain("HTTPRoute");
  });

  it("repairs a deleted child and an edited one", () => {
    const offer = newOffer();
    const children: KubeObject[] = [];
    const healthy = { upstream: { healthy: true, message: "200" } };
    converge(offer, children, healthy);
    children.splice(children.findIndex((c) => c.kind === "HTTPRoute"), 1);
    expect(step(offer, children, healthy).result.apply.map((c) => c.kind)).toEqual(["HTTPRoute"]);
    (children.find((c) => c.kind === "PaymentRoute")!.spec as { amount: string }).amount = "1";
    expect(step(offer, children, healthy).result.apply.map((c) => c.kind)).toEqual(["PaymentRoute"]);
    converge(offer, children, healthy);
    expect(readyOf(offer)).toBe("True");
  });

  it("cleans up on deletion, then lets go of the finalizer", () => {
    const offer = newOffer();
    const children: KubeObject[] = [];
    converge(offer, children, { upstream: { healthy: true, message: "200" } });
    offer.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    const first = step(offer, children, {}).result;
    expect(first.delete.map((r) => r.kind)).toEqual(["HTTPRoute", "ReferenceGrant"]);
    expect(first.finalizer).toBeUndefined();
    expect(step(offer, children, {}).result.finalizer).toBe("remove");
    expect(children.map((c) => c.kind).sort()).toEqual(["Middleware", "PaymentRoute"]); // the garbage collector's part
  });

  it("says which upstream to probe: a valid offer's, none for an invalid one or one being deleted", () => {
    const offer = newOffer();
    expect(reconcile(offer, { children: [] }, config, now).probe).toEqual({ namespace: "backend", service: "api", port: 8080, healthPath: "/health" });
    expect(reconcile(newOffer({ upstream: { service: "Not A Name", namespace: "backend" } }), { children: [] }, config, now).probe).toBeUndefined();
    offer.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    expect(reconcile(offer, { children: [] }, config, now).probe).toBeUndefined();
  });

  it("tells the Events of each status it writes, and of the cleanup done", () => {
    const offer = newOffer();
    const children: KubeObject[] = [];
    const told: string[] = [];
    const run = (observed: Omit<Observed, "children">) => {
      for (let pass = 0; pass < 5; pass++) {
        const { result } = step(offer, children, observed);
        if (!result.statusChanged && result.finalizer !== "remove") expect(result.events).toEqual([]);
        told.push(...result.events.map((e) => e.reason));
      }
    };
    run({ upstream: { healthy: true, message: "200" } });
    expect(told).toEqual(["Published"]);
    run({ upstream: { healthy: false, message: "refused" } });
    run({ upstream: { healthy: true, message: "200" } });
    expect(told).toEqual(["Published", "UpstreamUnhealthy", "UpstreamRecovered", "Published"]);
    offer.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    run({});
    expect(told.at(-1)).toBe("CleanedUp");
    expect(told.filter((reason) => reason === "CleanedUp")).toHaveLength(1);
  });

  it("tells an invalid spec once", () => {
    const offer = newOffer({ upstream: { service: "Not A Name", namespace: "backend" } });
    const first = step(offer, [], {}).result;
    expect(first.events.map((e) => e.reason)).toEqual(["InvalidSpec"]);
    expect(step(offer, [], {}).result.events).toEqual([]);
  });

  it("is the same function of its inputs: same input, same output", () => {
    const offer = newOffer();
    expect(reconcile(offer, { children: [] }, config, now)).toEqual(reconcile(offer, { children: [] }, config, now));
  });
});
