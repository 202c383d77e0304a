// The Lease the controller replicas compete for, through the API server.
import type { KubeClient } from "./client.ts";
import { isKubeError } from "./errors.ts";
import type { Lease, LeaseStore } from "./leader-election.ts";
import { apiVersionOf, RESOURCES, resourcePath } from "./resources.ts";

const apiVersion = apiVersionOf(RESOURCES.Lease);
const kind = RESOURCES.Lease.kind;

export function kubeLeaseStore(client: KubeClient, namespace: string, name: string): LeaseStore {
  const path = resourcePath(RESOURCES.Lease, namespace, name);
  return {
    async get() {
      try {
        return await client.request<Lease>("GET", path);
      } catch (error) {
        if (isKubeError(error, "not-found")) return undefined;
        throw error;
      }
    },
    create: (spec) =>
      client.request<Lease>("POST", resourcePath(RESOURCES.Lease, namespace), {
        body: { apiVersion, kind, metadata: { name, namespace }, spec },
      }),
    // A full update carrying the resourceVersion we read: a candidate that raced us gets 409.
    update: (lease) =>
      client.request<Lease>("PUT", path, {
        body: { apiVersion, kind, metadata: { name, namespace, resourceVersion: lease.metadata.resourceVersion }, spec: lease.spec },
      }),
  };
}
