// The three conditions of a valid offer, each read from what was observed.
import type { ChildNames } from "./children.ts";
import type { ConditionState } from "./conditions.ts";
import type { GatewayRef, OperatorConfig } from "./config.ts";
import type { Condition, KubeObject } from "./kube.ts";
import type { ChildKind } from "./kinds.ts";
import type { Observed } from "./observed.ts";
import type { ValidOffer } from "./validate-offer.ts";

const state = (status: ConditionState["status"], reason: string, message: string): ConditionState => ({ status, reason, message });

export function upstreamHealthy(observed: Observed, offer: ValidOffer): ConditionState {
  const { service, namespace, port } = offer.spec.upstream;
  if (!observed.upstream) return state("Unknown", "NotProbed", `${service}.${namespace}:${port} has not been probed yet`);
  if (observed.upstream.healthy) return state("True", "Reachable", observed.upstream.message);
  return state("False", "Unreachable", observed.upstream.message);
}

/** Children as they are now; `inPlace` says whether each already holds what we want. */
export type ChildView = { desired: KubeObject; current?: KubeObject; inPlace: boolean };

export function paymentGateReady(
  middleware: ChildView | undefined,
  route: ChildView,
  observed: Observed,
  config: OperatorConfig,
  offer: ValidOffer,
): ConditionState {
  const missing = missingCrd(observed, middleware ? ["Middleware", "PaymentRoute"] : ["PaymentRoute"]);
  if (missing) return missing;
  const pending = [middleware, route].filter((c) => c && !c.inPlace).map((c) => `${c!.desired.kind} ${c!.desired.metadata.name}`);
  if (pending.length > 0) return state("False", "Applying", `waiting for ${pending.join(" and ")} to be applied`);
  if (config.requireAdmission) {
    const status = (route.current?.status ?? {}) as { admitted?: boolean; lastAdmittedGeneration?: number; message?: string };
    const current = status.lastAdmittedGeneration === route.current?.metadata.generation;
    if (status.admitted === false && current) {
      return state("False", "NotAdmitted", `the x402 verifier refused PaymentRoute ${route.desired.metadata.name}: ${status.message ?? "no reason given"}`);
    }
    if (status.admitted !== true || !current) {
      return state("False", "AwaitingVerifier", `waiting for the x402 verifier to admit PaymentRoute ${route.desired.metadata.name}`);
    }
  }
  return state("True", "Admitted", `${offer.price.decimal} ${offer.asset.symbol} per request on ${offer.network.name}, paid to ${offer.spec.payment.payTo}${alsoAccepted(offer)}`);
}

export function routePublished(
  httpRoute: ChildView,
  grant: ChildView | undefined,
  gateReady: boolean,
  observed: Observed,
  config: OperatorConfig,
  names: ChildNames,
  offer: ValidOffer,
): ConditionState {
  const missing = missingCrd(observed, grant ? ["HTTPRoute", "ReferenceGrant"] : ["HTTPRoute"]);
  if (missing) return missing;
  if (!httpRoute.current && !gateReady) {
    return state("False", "WaitingForPaymentGate", `HTTPRoute ${names.httpRoute} is published once the payment gate is ready`);
  }
  const pending = [httpRoute, grant].filter((c) => c && !c.inPlace).map((c) => `${c!.desired.kind} ${c!.desired.metadata.name}`);
  if (pending.length > 0) return state("False", "Applying", `waiting for ${pending.join(" and ")} to be applied`);
  const verdict = gatewayVerdict(httpRoute.current!, config.gateway);
  const gateway = `gateway ${config.gateway.namespace}/${config.gateway.name}`;
  if (verdict.refused) return state("False", verdict.refused.reason || "NotAccepted", `${gateway}: ${verdict.refused.message}`);
  // Not waiting for the gateway's word: Traefik writes route statuses a few per second, so a
  // thousand offers would wait minutes (and rewrite their status once more) while their routes
  // already serve. Only a refusal changes the condition.
  return state("True", "Published", `PathPrefix ${offer.path} on ${gateway}`);
}

function missingCrd(observed: Observed, kinds: ChildKind[]): ConditionState | undefined {
  const missing = kinds.filter((k) => observed.missingKinds?.includes(k));
  if (missing.length === 0) return undefined;
  return state("False", "CRDNotInstalled", `the ${missing.join(" and ")} CRD is not installed in the cluster`);
}

/**
 * The gateway's own verdict on the current generation of our route: refused when it set
 * Accepted or ResolvedRefs to False.
 */
function gatewayVerdict(route: KubeObject, gateway: GatewayRef): { refused?: Condition } {
  const parents = ((route.status ?? {}) as { parents?: { parentRef?: Partial<GatewayRef>; conditions?: Condition[] }[] }).parents ?? [];
  const ours = parents.find((p) => p.parentRef?.name === gateway.name && (p.parentRef?.namespace ?? route.metadata.namespace) === gateway.namespace);
  const current = (ours?.conditions ?? []).filter((c) => c.observedGeneration === undefined || c.observedGeneration === route.metadata.generation);
  return { refused: current.find((c) => (c.type === "Accepted" || c.type === "ResolvedRefs") && c.status === "False") };
}

/** ", or 0.001 OBOL on base-sepolia" for each of `spec.payments`. */
function alsoAccepted(offer: ValidOffer): string {
  return offer.alternatives.map((t) => `, or ${t.price.decimal} ${t.asset.symbol} on ${t.network.name}`).join("");
}
