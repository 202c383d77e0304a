// Server-side apply of arbitrary manifests for the harness, like `kubectl apply
// --server-side`, through our own client (no kubectl needed on the machine).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KubeClient } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

/** Plural and scope of the kinds the harness applies; unknown kinds are an error, not a guess. */
const KINDS: Record<string, { plural: string; namespaced: boolean }> = {
  Namespace: { plural: "namespaces", namespaced: false },
  ServiceAccount: { plural: "serviceaccounts", namespaced: true },
  Service: { plural: "services", namespaced: true },
  Secret: { plural: "secrets", namespaced: true },
  EndpointSlice: { plural: "endpointslices", namespaced: true },
  Deployment: { plural: "deployments", namespaced: true },
  ClusterRole: { plural: "clusterroles", namespaced: false },
  ClusterRoleBinding: { plural: "clusterrolebindings", namespaced: false },
  Role: { plural: "roles", namespaced: true },
  RoleBinding: { plural: "rolebindings", namespaced: true },
  CustomResourceDefinition: { plural: "customresourcedefinitions", namespaced: false },
  GatewayClass: { plural: "gatewayclasses", namespaced: false },
  Gateway: { plural: "gateways", namespaced: true },
  ServiceOffer: { plural: "serviceoffers", namespaced: true },
  PaymentRoute: { plural: "paymentroutes", namespaced: true },
  Middleware: { plural: "middlewares", namespaced: true },
  IngressRoute: { plural: "ingressroutes", namespaced: true },
  HTTPRoute: { plural: "httproutes", namespaced: true },
  ReferenceGrant: { plural: "referencegrants", namespaced: true },
};

export function manifestPath(object: Pick<Manifest, "apiVersion" | "kind" | "metadata">, name = true): string {
  const kind = KINDS[object.kind];
  if (!kind) throw new Error(`the harness does not know kind ${object.kind}`);
  const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const scope = kind.namespaced ? `/namespaces/${object.metadata.namespace ?? "default"}` : "";
  return `${base}${scope}/${kind.plural}${name ? `/${object.metadata.name}` : ""}`;
}

export function readManifests(...files: string[]): Manifest[] {
  return files.flatMap((file) => parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean)) as Manifest[];
}

export async function apply(client: KubeClient, objects: readonly Manifest[], options: { dryRun?: boolean; manager?: string } = {}): Promise<void> {
  for (const object of objects) {
    await client.request("PATCH", manifestPath(object), {
      body: object,
      contentType: "application/apply-patch+yaml",
      query: { fieldManager: options.manager ?? "x402-e2e", force: true, dryRun: options.dryRun ? "All" : undefined },
    });
  }
}

/** Waits until every CRD among the objects is Established, so its kind can be used. */
export async function waitEstablished(client: KubeClient, objects: readonly Manifest[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const crd of objects.filter((o) => o.kind === "CustomResourceDefinition")) {
    for (;;) {
      const current = await client.request<{ status?: { conditions?: { type: string; status: string }[] } }>("GET", manifestPath(crd));
      if (current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not established in time`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>("GET", path);
  } catch (error) {
    if (isKubeError(error, "not-found")) return undefined;
    throw error;
  }
}
