// The exact requests the controller sends, recorded by a scripted API server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../core/kube.ts";
import { kubeClient } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { kubeLeaseStore } from "../kube/lease-store.ts";
import { startTestApiServer } from "../kube/test-server.ts";
import { addFinalizer, applyObject, applyOfferStatus, deleteObject, removeFinalizers } from "./writes.ts";

let server: Awaited<ReturnType<typeof startTestApiServer>>;
let reply: { status?: number; body?: unknown } = { body: {} };
beforeAll(async () => {
  server = await startTestApiServer(() => reply);
});
afterAll(() => server.close());
const client = () => kubeClient(server.kubeConfig);
const last = () => server.requests.at(-1)!;

const middleware: KubeObject = {
  apiVersion: "traefik.io/v1alpha1", kind: "Middleware",
  metadata: { name: "x402-llm", namespace: "shop", labels: { "app.kubernetes.io/managed-by": "x402-operator" } },
  spec: { forwardAuth: { address: "http://v/verify" } },
};

describe("controller writes", () => {
  it("applies a child server-side: apply content type, our field manager, forced, only our fields", async () => {
    reply = { body: middleware };
    await applyObject(client(), middleware);
    expect(last()).toMatchObject({
      method: "PATCH",
      path: "/apis/traefik.io/v1alpha1/namespaces/shop/middlewares/x402-llm",
      query: { fieldManager: "x402-operator", force: "true" },
      contentType: "application/apply-patch+yaml",
      body: middleware,
    });
  });

  it("writes status through the status subresource with only the fields we own", async () => {
    reply = { body: {} };
    await applyOfferStatus(client(), { namespace: "shop", name: "llm" }, {
      observedGeneration: 4, endpoint: "/services/llm", agentId: "7",
      conditions: [
        { type: "Ready", status: "True", reason: "Published", message: "", lastTransitionTime: "t" },
        { type: "Registered", status: "True", reason: "Tx", message: "", lastTransitionTime: "t" },
      ],
    }, ["Ready"]);
    expect(last()).toMatchObject({
      method: "PATCH", path: "/apis/obol.org/v1alpha1/namespaces/shop/serviceoffers/llm/status",
      contentType: "application/apply-patch+yaml", query: { fieldManager: "x402-operator-status", force: "true" },
    });
    expect(last().body).toEqual({
      apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name: "llm", namespace: "shop" },
      status: { observedGeneration: 4, endpoint: "/services/llm", conditions: [{ type: "Ready", status: "True", reason: "Published", message: "", lastTransitionTime: "t" }] },
    });
  });

  it("adds the finalizer next to others, guarded by a test of the list it read", async () => {
    await addFinalizer(client(), { namespace: "shop", name: "llm" }, { finalizers: ["other.io/keep"], resourceVersion: "9" }, "obol.org/serviceoffer-cleanup");
    expect(last()).toMatchObject({ method: "PATCH", path: "/apis/obol.org/v1alpha1/namespaces/shop/serviceoffers/llm", contentType: "application/json-patch+json" });
    expect(last().body).toEqual([
      { op: "test", path: "/metadata/finalizers", value: ["other.io/keep"] },
      { op: "add", path: "/metadata/finalizers/-", value: "obol.org/serviceoffer-cleanup" },
    ]);
    await addFinalizer(client(), { namespace: "shop", name: "llm" }, { resourceVersion: "9" }, "obol.org/serviceoffer-cleanup");
    expect(last().body).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "9" },
      { op: "add", path: "/metadata/finalizers", value: ["obol.org/serviceoffer-cleanup"] },
    ]);
  });

  it("removes only the finalizers named, from the highest index down, each tested first", async () => {
    const ours = ["obol.org/serviceoffer-cleanup", "monetize.obol.org/finalizer"];
    await removeFinalizers(client(), { namespace: "shop", name: "llm" }, ["a.io/x", "obol.org/serviceoffer-cleanup", "b.io/y"], ours);
    expect(last().body).toEqual([
      { op: "test", path: "/metadata/finalizers/1", value: "obol.org/serviceoffer-cleanup" },
      { op: "remove", path: "/metadata/finalizers/1" },
    ]);
    await removeFinalizers(client(), { namespace: "shop", name: "llm" }, ["monetize.obol.org/finalizer", "a.io/x", "obol.org/serviceoffer-cleanup"], ours);
    expect(last().body).toEqual([
      { op: "test", path: "/metadata/finalizers/2", value: "obol.org/serviceoffer-cleanup" },
      { op: "remove", path: "/metadata/finalizers/2" },
      { op: "test", path: "/metadata/finalizers/0", value: "monetize.obol.org/finalizer" },
      { op: "remove", path: "/metadata/finalizers/0" },
    ]);
  });

  it("deletes a child, and takes an already deleted one as done", async () => {
    reply = { status: 404, body: { message: "not found" } };
    await deleteObject(client(), { apiVersion: "gateway.networking.k8s.io/v1beta1", kind: "ReferenceGrant", namespace: "backend", name: "so-shop-llm" });
    expect(last()).toMatchObject({ method: "DELETE", path: "/apis/gateway.networking.k8s.io/v1beta1/namespaces/backend/referencegrants/so-shop-llm" });
    reply = { status: 500, body: { message: "etcd" } };
    const error = await deleteObject(client(), { apiVersion: "v1", kind: "ReferenceGrant", namespace: "b", name: "n" }).catch((e: unknown) => e);
    expect(isKubeError(error, "unavailable") && error.status).toBe(500);
  });

  it("updates the lease with the resourceVersion it read, so a racing candidate conflicts", async () => {
    reply = { body: {} };
    await kubeLeaseStore(client(), "x402", "x402-controller").update({ metadata: { name: "x402-controller", namespace: "x402", resourceVersion: "41" }, spec: { holderIdentity: "pod-a" } });
    expect(last()).toMatchObject({ method: "PUT", path: "/apis/coordination.k8s.io/v1/namespaces/x402/leases/x402-controller", body: { metadata: { resourceVersion: "41" }, spec: { holderIdentity: "pod-a" } } });
    reply = { status: 404, body: {} };
    expect(await kubeLeaseStore(client(), "x402", "x402-controller").get()).toBeUndefined();
  });
});
