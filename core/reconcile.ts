// The whole decision for one ServiceOffer: given the offer and what was observed, which
// children should exist, which writes bring the cluster there, what the status says, what
// to keep observing and what to tell the user. Pure: the adapters do the I/O and call this
// again when anything changes.
import { definedOnly } from "./defined-only.ts";
import { registrationDocument } from "./agent-registration.ts";
import { afterApply } from "./after-apply.ts";
import { childNames, httpRoute, middleware, paymentRoute, referenceGrant } from "./children.ts";
import { type ConditionState, type ConditionType, deriveReady, kubeTime, nextConditions } from "./conditions.ts";
import type { OperatorConfig } from "./config.ts";
import { HTTP_ROUTE, MIDDLEWARE, PAYMENT_ROUTE, REFERENCE_GRANT } from "./kinds.ts";
import { type FieldIssue, formatFieldIssues } from "./field-issues.ts";
import { isInPlace, withFingerprint } from "./fingerprint.ts";
import { type KubeObject, type ObjectRef, refOf, sameObject } from "./kube.ts";
import type { Observed, UpstreamTarget } from "./observed.ts";
import { type ChildView, paymentGateReady, routePublished, upstreamHealthy } from "./offer-conditions.ts";
import { finalizersWeRemove, type OfferIdentity } from "./ownership.ts";
import type { ServiceOfferEnvelope, ServiceOfferStatus } from "./service-offer.ts";
import { validateOffer } from "./validate-offer.ts";
import { readStatus, sameStatus } from "./offer-status.ts";
import { gatedOnRegistration } from "./registered-condition.ts";
import { registrationReleased } from "./registration-plan.ts";
import { type OfferEvent, transitions } from "./transitions.ts";

export type ReconcileResult = {
  /** Every child the offer should have, in a safe apply order (the route goes public last). */
  desired: KubeObject[];
  /**
   * The desired children that must be written now (missing or drifted), in that order. All
   * but the HTTPRoute may be written at once; the HTTPRoute only after they all succeeded.
   */
  apply: KubeObject[];
  /** Children to delete, the public HTTPRoute first. */
  delete: ObjectRef[];
  /**
   * The status the offer should show once the writes above succeeded; `statusChanged` says
   * whether it must be written now (last, and only if they did). Not when it would only say
   * that the verifier has yet to judge the PaymentRoute applied this round: the next round,
   * at its verdict or at the recheck, writes what then holds.
   */
  status: ServiceOfferStatus;
  statusChanged: boolean;
  /** Add the finalizer before applying anything; remove it only after the deletes. */
  finalizer?: "add" | "remove";
  /** When to reconcile again even if nothing is observed to change; absent: only on change. */
  requeueAfterSeconds?: number;
  /** Spec problems, each naming its field; empty for a valid offer. */
  issues: FieldIssue[];
  /**
   * The upstream to keep probing (a valid offer not being deleted); its latest observation is
   * `observed.upstream` the next time. A target not observed yet is worth probing before
   * deciding, so that a restarted controller never reports "not probed yet" over a right status.
   */
  probe?: UpstreamTarget;
  /** Events to record on the offer once the writes above succeeded: what the status change means to a user, or the cleanup done. */
  events: OfferEvent[];
};

/** Told once the finalizer is gone: the offer's cleanup is complete. */
export const CLEANED_UP: OfferEvent = { type: "Normal", reason: "CleanedUp", message: "the route was taken off the gateway and its children removed" };

export function reconcile(offer: ServiceOfferEnvelope, observed: Observed, config: OperatorConfig, now: Date): ReconcileResult {
  const id: OfferIdentity = { namespace: offer.metadata.namespace ?? "default", name: offer.metadata.name, uid: offer.metadata.uid };
  const finalizers = offer.metadata.finalizers ?? [];
  const hasFinalizer = finalizers.includes(config.finalizer);
  const previous = readStatus(offer.status);

  if (offer.metadata.deletionTimestamp) return finalize(observed, finalizersWeRemove(config.finalizer).some((f) => finalizers.includes(f)), previous, config);

  const validation = validateOffer(id.name, offer.spec, config, id.namespace);
  const generation = offer.metadata.generation;
  const time = kubeTime(now);
  const finalizer = hasFinalizer ? undefined : "add" as const;

  if (!validation.ok) {
    const message = formatFieldIssues(validation.issues);
    // A valid offer on a reserved path says so (ReservedPath); anything else is an invalid spec.
    const first = validation.issues[0]?.reason;
    const reason = first !== undefined && validation.issues.every((i) => i.reason === first) ? first : "InvalidSpec";
    const invalid: ConditionState = { status: "False", reason, message };
    const states: [ConditionType, ConditionState][] = [
      ["UpstreamHealthy", { status: "Unknown", reason, message: reason === "InvalidSpec" ? "not probed while the spec is invalid" : "not probed while the offer cannot be published" }],
      ["PaymentGateReady", invalid],
      ["RoutePublished", invalid],
      ["Ready", invalid],
    ];
    const status = { ...previous, observedGeneration: generation, endpoint: undefined, conditions: nextConditions(previous.conditions, states, generation, time) };
    return {
      desired: [], apply: [], delete: deletionOrder(observed.children.map(refOf)),
      ...withStatus(previous, status), finalizer, issues: validation.issues,
    };
  }

  const valid = validation.offer;
  const names = childNames(id);
  const health = upstreamHealthy(observed, valid);
  const view = (child: KubeObject): ChildView => {
    const desired = withFingerprint(child);
    const current = observed.children.find((c) => sameObject(refOf(c), refOf(desired)));
    return { desired, current, inPlace: isInPlace(current, desired) };
  };
  const document = registrationDocument(id, valid.spec, valid.path, valid.network, config.publicUrl, previous.agentId);
  const routeView = view(paymentRoute(id, valid, health.status !== "False", document));
  // The data path needs no ForwardAuth: the verifier is the backend itself.
  const middlewareView = valid.spec.dataPath ? undefined : view(middleware(id, config));
  const grant = referenceGrant(id, valid, config);
  const grantView = grant ? view(grant) : undefined;
  const httpRouteView = view(httpRoute(id, valid, config));

  // Conditions describe the children as this round leaves them (see after-apply.ts). The
  // gate's children are written first; the HTTPRoute only once they are, and a new one only
  // behind a gate that is then ready, so no request is ever served unpaid.
  const installed = (c: ChildView) => !observed.missingKinds?.includes(c.desired.kind as never);
  const gateChildren = [routeView, ...(middlewareView ? [middlewareView] : []), ...(grantView ? [grantView] : [])];
  const firstWave = gateChildren.filter((c) => !c.inPlace && installed(c));
  const after = (c: ChildView) => (firstWave.includes(c) ? afterApply(c) : c);
  const gate = paymentGateReady(middlewareView && after(middlewareView), after(routeView), observed, config, valid);
  const publish = !httpRouteView.inPlace && installed(httpRouteView) && (httpRouteView.current !== undefined || gate.status === "True");
  const routeAfter = publish ? afterApply(httpRouteView) : httpRouteView;
  const route = routePublished(routeAfter, grantView && after(grantView), gate.status === "True", observed, config, names, valid);
  const ready = gatedOnRegistration(deriveReady({ UpstreamHealthy: health, PaymentGateReady: gate, RoutePublished: route }), valid.spec, previous);
  const states: [ConditionType, ConditionState][] = [
    ["UpstreamHealthy", health], ["PaymentGateReady", gate], ["RoutePublished", route], ["Ready", ready],
  ];

  const desired = [...gateChildren, httpRouteView].map((c) => c.desired);
  const apply = [...firstWave, ...(publish ? [httpRouteView] : [])].map((c) => c.desired);
  const stale = observed.children.map(refOf).filter((ref) => !desired.some((d) => sameObject(refOf(d), ref)));

  const status = { ...previous, observedGeneration: generation, endpoint: valid.path, conditions: nextConditions(previous.conditions, states, generation, time) };
  const awaitingOwnApply = firstWave.includes(routeView) && gate.reason === "AwaitingVerifier" && onlyTheGateMoves(previous, health, route);
  const recheck = awaitingOwnApply ? config.recheckSeconds.admission
    : ready.status === "True" ? config.recheckSeconds.ready
    : health.status === "False" && gate.status === "True" ? config.recheckSeconds.unhealthy
    : config.recheckSeconds.pending;
  const { service, namespace, port, healthPath } = valid.spec.upstream;
  return {
    desired, apply, delete: deletionOrder(stale), ...withStatus(previous, status, awaitingOwnApply),
    finalizer, requeueAfterSeconds: recheck, issues: [], probe: { namespace, service, port, healthPath },
  };
}

/**
 * The verifier judges a PaymentRoute we apply within milliseconds, as a rule, and its
 * verdict brings the next round: a status saying we wait for it would be replaced at once.
 * Such a status is held back, and written by the next round only if the wait is real; not
 * when it also tells news of the upstream or the route, which must not wait.
 */
function onlyTheGateMoves(previous: ServiceOfferStatus, health: ConditionState, route: ConditionState): boolean {
  const before = (type: ConditionType) => previous.conditions.find((c) => c.type === type);
  if (before("Ready") === undefined) return true; // the first status: nothing shown yet goes stale
  return before("UpstreamHealthy")?.status === health.status && before("RoutePublished")?.status === route.status;
}

/** With the offer being deleted: take the route off the gateway, remove what the garbage collector cannot, then let go. */
function finalize(observed: Observed, hasFinalizer: boolean, previous: ServiceOfferStatus, config: OperatorConfig): ReconcileResult {
  const base = { desired: [], apply: [], status: previous, statusChanged: false, issues: [], events: [] };
  if (!hasFinalizer) return { ...base, delete: [] };
  const cleanup = observed.children.map(refOf).filter((ref) => ref.kind === HTTP_ROUTE.kind || ref.kind === REFERENCE_GRANT.kind);
  if (cleanup.length > 0) return { ...base, delete: deletionOrder(cleanup) };
  // An agent we registered is marked inactive on chain (its tombstone) before the offer goes.
  if (!registrationReleased(previous.agentId, previous.registration ?? {}, config.registrationAccount)) return { ...base, delete: [], requeueAfterSeconds: config.recheckSeconds.pending };
  return { ...base, delete: [], finalizer: "remove", events: [CLEANED_UP] };
}

const DELETE_FIRST = [HTTP_ROUTE, REFERENCE_GRANT, MIDDLEWARE, PAYMENT_ROUTE].map((resource) => resource.kind);

function deletionOrder(refs: ObjectRef[]): ObjectRef[] {
  const rank = (ref: ObjectRef) => DELETE_FIRST.indexOf(ref.kind);
  return [...refs].sort((a, b) => rank(a) - rank(b) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** The status, whether it is written now, and the Events its writing tells. */
function withStatus(previous: ServiceOfferStatus, status: ServiceOfferStatus, holdBack = false) {
  const cleaned = definedOnly(status) as ServiceOfferStatus;
  const statusChanged = !holdBack && !sameStatus(previous, cleaned);
  return { status: cleaned, statusChanged, events: statusChanged ? transitions(previous.conditions, cleaned.conditions) : [] };
}
