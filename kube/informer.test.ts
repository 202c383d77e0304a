import { afterEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../core/kube.ts";
import { waitFor } from "../dev/process.ts";
import { jsonLogger } from "../adapters/log.ts";
import { kubeClient } from "./client.ts";
import { LAST_APPLIED_ANNOTATION, startInformer, trimmed } from "./informer.ts";
import { PAYMENT_ROUTE } from "../core/kinds.ts";
import { startTestApiServer } from "./test-server.ts";

const at = (resourceVersion?: string): KubeObject => ({ apiVersion: "v1", kind: "X", metadata: { name: "x", resourceVersion } });
const quiet = jsonLogger({}, () => {});
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** A child as the API server returns it after server-side apply (and a kubectl apply before). */
const served = (name: string, resourceVersion: string) => ({
  apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute",
  metadata: {
    name, namespace: "shop", uid: `uid-${name}`, generation: 2, resourceVersion, creationTimestamp: "2026-01-01T00:00:00Z",
    deletionTimestamp: "2026-01-02T00:00:00Z", finalizers: ["obol.org/serviceoffer-cleanup"],
    labels: { "app.kubernetes.io/managed-by": "x402-operator" },
    annotations: { "obol.org/offer": "shop/demo", "obol.org/desired-fingerprint": "abc", [LAST_APPLIED_ANNOTATION]: '{"big":"copy"}' },
    ownerReferences: [{ apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", name: "demo", uid: "u1", controller: true, blockOwnerDeletion: true }],
    managedFields: [{ manager: "x402-operator", operation: "Apply", apiVersion: "obol.org/v1alpha1", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:pattern": {} } } }],
  },
  spec: { pattern: "/x/*" },
  status: { admitted: true },
});

describe("trimmed", () => {
  it("drops managedFields and kubectl's last-applied copy, and keeps everything the controller reads", () => {
    const object = served("a", "5") as KubeObject;
    const { managedFields: _, ...metadata } = object.metadata as KubeObject["metadata"] & { managedFields?: unknown };
    const { [LAST_APPLIED_ANNOTATION]: __, ...annotations } = metadata.annotations!;
    expect(trimmed(object)).toEqual({ ...object, metadata: { ...metadata, annotations } });
    expect(object.metadata).toHaveProperty("managedFields"); // the object given is left as it was
  });

  it("returns an object with nothing to drop as it is", () => {
    const object = at("1");
    expect(trimmed(object)).toBe(object);
  });
});

describe("startInformer", () => {
  it("caches listed, watched and remembered objects trimmed", async () => {
    let send: ((line: unknown) => void) | undefined;
    const server = await startTestApiServer((req) => {
      if (!req.query.watch) return { body: { kind: "PaymentRouteList", apiVersion: "obol.org/v1alpha1", metadata: { resourceVersion: "5" }, items: [served("listed", "5")] } };
      return { stream: (write) => (send = write) };
    });
    cleanup.push(server.close);
    const changed: KubeObject[] = [];
    const informer = startInformer({ client: kubeClient(server.kubeConfig), resource: PAYMENT_ROUTE, log: quiet, onChange: (o) => changed.push(o) });
    cleanup.push(informer.stop);
    await waitFor("synced and watching", async () => informer.synced && send !== undefined, 5000);
    send!({ type: "ADDED", object: served("watched", "6") });
    await waitFor("watched", async () => informer.get("shop", "watched") !== undefined, 5000);
    informer.remember(served("remembered", "7") as KubeObject);
    for (const name of ["listed", "watched", "remembered"]) {
      const cached = informer.get("shop", name)!;
      expect(cached.metadata).not.toHaveProperty("managedFields");
      expect(cached.metadata.annotations).toEqual({ "obol.org/offer": "shop/demo", "obol.org/desired-fingerprint": "abc" });
      expect(cached.metadata.ownerReferences?.[0]?.uid).toBe("u1");
    }
    expect(changed.map((o) => [o.metadata.name, "managedFields" in o.metadata])).toEqual([["listed", false], ["watched", false]]);
  });
});

/** An API server whose list answers `items()` and whose watch events the test sends. */
async function scripted(items: () => unknown[]) {
  let send: ((line: unknown) => void) | undefined;
  let end: (() => void) | undefined;
  let watches = 0;
  const server = await startTestApiServer((req) => {
    if (!req.query.watch) return { body: { kind: "PaymentRouteList", apiVersion: "obol.org/v1alpha1", metadata: { resourceVersion: "5" }, items: items() } };
    watches++;
    return { stream: (write, close) => ((send = write), (end = close)) };
  });
  cleanup.push(server.close);
  /** How many watches were opened: after a relist, send only once the next one is open. */
  return { server, send: (line: unknown) => send!(line), end: () => end!(), watching: () => send !== undefined, watches: () => watches };
}

describe("startInformer's changes", () => {
  it("tells of every other version and of deletions, the server's copy being the truth; a relist is diffed against the cache", { timeout: 20_000 }, async () => {
    let listed = [served("a", "5"), served("b", "5")];
    const api = await scripted(() => listed);
    const changes: string[] = [];
    let syncs = 0;
    const informer = startInformer({
      client: kubeClient(api.server.kubeConfig), resource: PAYMENT_ROUTE, log: quiet,
      onChange: (o, deleted) => changes.push(`${deleted ? "-" : "+"}${o.metadata.name}@${o.metadata.resourceVersion}`),
      onSync: () => syncs++,
    });
    cleanup.push(informer.stop);
    await waitFor("watching", async () => api.watching(), 5000);
    expect(changes).toEqual(["+a@5", "+b@5"]);
    api.send({ type: "MODIFIED", object: served("a", "6") });
    api.send({ type: "MODIFIED", object: served("a", "6") }); // the same version again: no news
    api.send({ type: "MODIFIED", object: served("b", "4") }); // another version, even a lower one: the server says so
    await waitFor("b@4", async () => informer.get("shop", "b")?.metadata.resourceVersion === "4", 5000);
    expect(informer.get("shop", "a")?.metadata.resourceVersion).toBe("6");
    // The watch is too old: relisted, with a changed, b gone, c new.
    listed = [served("a", "7"), served("c", "7")];
    api.send({ type: "ERROR", object: { code: 410, message: "too old" } });
    await waitFor("relisted", async () => syncs === 2, 5000);
    expect(changes).toEqual(["+a@5", "+b@5", "+a@6", "+b@4", "+a@7", "+c@7", "-b@4"]);
    expect(informer.list().map((o) => o.metadata.name).sort()).toEqual(["a", "c"]);
    // After an etcd restore versions go backwards: the relist still replaces what is held.
    await waitFor("watching again", async () => api.watches() === 2, 5000);
    listed = [served("a", "3"), served("c", "7")];
    api.send({ type: "ERROR", object: { code: 410, message: "too old" } });
    await waitFor("relisted again", async () => syncs === 3, 5000);
    expect(changes.slice(7)).toEqual(["+a@3"]);
    expect(informer.get("shop", "a")?.metadata.resourceVersion).toBe("3");
  });

  it("takes our own write's answer as the newest copy: its echo and older events are no news", async () => {
    const api = await scripted(() => [served("a", "5")]);
    const changes: string[] = [];
    const informer = startInformer({ client: kubeClient(api.server.kubeConfig), resource: PAYMENT_ROUTE, log: quiet, onChange: (o) => changes.push(`${o.metadata.name}@${o.metadata.resourceVersion}`) });
    cleanup.push(informer.stop);
    await waitFor("watching", async () => api.watching(), 5000);
    informer.remember(served("a", "8") as KubeObject);
    informer.remember(served("a", "7") as KubeObject); // an older answer never goes back
    expect(informer.get("shop", "a")?.metadata.resourceVersion).toBe("8");
    api.send({ type: "MODIFIED", object: served("a", "7") });
    api.send({ type: "MODIFIED", object: { ...served("a", "8"), spec: { pattern: "/echo/*" } } });
    api.send({ type: "MODIFIED", object: served("a", "9") });
    await waitFor("a@9", async () => changes.length === 2, 5000);
    expect(changes).toEqual(["a@5", "a@9"]);
  });

  it("keeps what the transform keeps, indexes it, and watches one namespace when told", async () => {
    const api = await scripted(() => [served("a", "5"), { ...served("b", "5"), metadata: { ...served("b", "5").metadata, annotations: {} } }]);
    const changed: unknown[] = [];
    const informer = startInformer({
      client: kubeClient(api.server.kubeConfig), resource: PAYMENT_ROUTE, log: quiet, namespace: "shop",
      transform: (o) => ({ metadata: { name: o.metadata.name, namespace: o.metadata.namespace, resourceVersion: o.metadata.resourceVersion }, offer: o.metadata.annotations?.["obol.org/offer"] }),
      index: { byOffer: (o) => (o.offer ? [o.offer] : []) },
      onChange: (o) => changed.push(o),
    });
    cleanup.push(informer.stop);
    await waitFor("synced", async () => informer.synced, 5000);
    expect(api.server.requests[0]?.path).toBe("/apis/obol.org/v1alpha1/namespaces/shop/paymentroutes");
    expect(informer.get("shop", "a")).toEqual({ metadata: { name: "a", namespace: "shop", resourceVersion: "5" }, offer: "shop/demo" });
    expect(changed).toEqual([informer.get("shop", "a"), informer.get("shop", "b")]);
    expect(informer.byIndex("byOffer", "shop/demo").map((o) => o.metadata.name)).toEqual(["a"]);
    expect(informer.byIndex("byOffer", "shop/none")).toEqual([]);
  });
});
