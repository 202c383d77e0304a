import { afterEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../core/kube.ts";
import { waitFor } from "../dev/process.ts";
import { jsonLogger } from "../adapters/log.ts";
import { kubeClient } from "./client.ts";
import { isNewer, LAST_APPLIED_ANNOTATION, startInformer, trimmed } from "./informer.ts";
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

describe("isNewer", () => {
  it("never lets an older write answer replace a newer watched copy", () => {
    expect(isNewer(at("10"), at("12"))).toBe(false);
    expect(isNewer(at("13"), at("12"))).toBe(true);
    expect(isNewer(at("100000000000000000001"), at("99999999999999999999"))).toBe(true);
  });

  it("takes the written object when versions cannot be compared", () => {
    expect(isNewer(at("10"), undefined)).toBe(true);
    expect(isNewer(at("abc"), at("12"))).toBe(true);
  });
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
