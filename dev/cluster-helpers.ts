// What the real-cluster scenarios do and check, as a user would with kubectl and curl.
import fs from "node:fs";
import { createPublicClient, erc20Abi, http } from "viem";
import type { KubeClient } from "../kube/client.ts";
import { SERVICE_OFFER } from "../core/kinds.ts";
import { resourcePath } from "../kube/resources.ts";
import { waitFor } from "./process.ts";
import { getOrUndefined } from "./apply.ts";
import type { Stack } from "./stack.ts";

export type Condition = { type: string; status: string; reason: string; message: string };
export type Offer = { metadata: { uid: string; generation: number; finalizers?: string[] }; status?: { conditions?: Condition[]; observedGeneration?: number; endpoint?: string } };

export const offerPath = (namespace: string, name?: string) => resourcePath(SERVICE_OFFER, namespace, name);

export async function applyOffer(admin: KubeClient, namespace: string, name: string, spec: object): Promise<void> {
  await admin.request("PATCH", offerPath(namespace, name), {
    contentType: "application/apply-patch+yaml", query: { fieldManager: "e2e-user", force: true },
    body: { apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name, namespace }, spec },
  });
}

export const getOffer = (admin: KubeClient, namespace: string, name: string) => getOrUndefined<Offer>(admin, offerPath(namespace, name));

export function condition(offer: Offer | undefined, type: string): Condition | undefined {
  return offer?.status?.conditions?.find((c) => c.type === type);
}

/** Milliseconds until the offer's current generation is Ready=True. */
export async function waitReady(admin: KubeClient, namespace: string, name: string, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  await waitFor(`ServiceOffer ${namespace}/${name} Ready`, async () => {
    const offer = await getOffer(admin, namespace, name);
    return offer?.status?.observedGeneration === offer?.metadata.generation && condition(offer, "Ready")?.status === "True";
  }, timeoutMs);
  return Date.now() - started;
}

export function usdcBalance(stack: Stack, address: `0x${string}`): Promise<bigint> {
  const reader = createPublicClient({ chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) });
  return reader.readContract({ address: stack.chain.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });
}

export type AuditEvent = { verb: string; user: { username: string }; userAgent?: string; objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string }; stageTimestamp: string; responseStatus?: { code?: number } };

/** Writes made since `since` by the controller's ServiceAccount, from the API server's audit log. */
export function controllerWrites(stack: Stack, since: number, options: { includeLeases?: boolean } = {}): AuditEvent[] {
  return fs.readFileSync(stack.controlPlane.auditLog, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.user.username === "system:serviceaccount:x402:x402-controller" && Date.parse(e.stageTimestamp) >= since)
    .filter((e) => options.includeLeases || (e.objectRef?.resource !== "leases" && e.objectRef?.resource !== "events"));
}

/** A GET through Traefik, as a buyer without a wallet would make it. */
export async function viaGateway(stack: Stack, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.traefik.url}${path}`, { headers });
  const text = await response.text();
  return { status: response.status, text, headers: response.headers, json: () => JSON.parse(text) };
}

/** The price in atomic units the gateway asks for a path, or its status when it asks none. */
export async function askedPrice(stack: Stack, path: string): Promise<string> {
  const answer = await viaGateway(stack, path);
  return answer.status === 402 ? answer.json().accepts[0].maxAmountRequired : `status ${answer.status}`;
}
