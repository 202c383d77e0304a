// The few Kubernetes object shapes the core reads and writes, validated at the edge.
import * as v from "valibot";

export const ObjectMetaSchema = v.looseObject({
  name: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  namespace: v.optional(v.string()),
  uid: v.optional(v.string()),
  generation: v.optional(v.number()),
  resourceVersion: v.optional(v.string()),
  deletionTimestamp: v.optional(v.nullable(v.string())),
  finalizers: v.optional(v.array(v.string())),
  labels: v.optional(v.record(v.string(), v.string())),
  annotations: v.optional(v.record(v.string(), v.string())),
});
export type ObjectMeta = v.InferOutput<typeof ObjectMetaSchema>;

export type OwnerReference = {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
};

/** Where a kind lives in the API: enough to build its URL paths. */
export type Resource = { group: string; version: string; plural: string; kind: string; namespaced: boolean };

export function apiVersionOf(resource: Resource): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

/** Any object as read from the API server; the core only relies on these fields. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { ownerReferences?: OwnerReference[] };
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
};

/** Identifies one object: what the adapters need to read, apply or delete it. */
export type ObjectRef = { apiVersion: string; kind: string; namespace: string; name: string };

export function refOf(object: KubeObject): ObjectRef {
  const { apiVersion, kind, metadata } = object;
  return { apiVersion, kind, namespace: metadata.namespace ?? "", name: metadata.name };
}

export function sameObject(a: ObjectRef, b: ObjectRef): boolean {
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name &&
    groupOf(a.apiVersion) === groupOf(b.apiVersion);
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

export const ConditionStatusSchema = v.picklist(["True", "False", "Unknown"]);
export type ConditionStatus = v.InferOutput<typeof ConditionStatusSchema>;

export const ConditionSchema = v.object({
  type: v.string(),
  status: ConditionStatusSchema,
  reason: v.optional(v.string(), ""),
  message: v.optional(v.string(), ""),
  lastTransitionTime: v.optional(v.string(), ""),
  observedGeneration: v.optional(v.number()),
});
export type Condition = v.InferOutput<typeof ConditionSchema>;
