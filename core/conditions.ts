// Status conditions as Kubernetes users read them: one entry per type, Ready derived
// from the others, and lastTransitionTime moved only when a status actually flips.
import type { Condition, ConditionStatus } from "./kube.ts";

export const CONDITION_TYPES = ["UpstreamHealthy", "PaymentGateReady", "RoutePublished"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number] | "Ready";

export type ConditionState = { status: ConditionStatus; reason: string; message: string };

/** Ready is True only when every other condition is; False as soon as one is False. */
export function deriveReady(states: Record<(typeof CONDITION_TYPES)[number], ConditionState>): ConditionState {
  const entries = CONDITION_TYPES.map((type) => [type, states[type]] as const);
  const failing = entries.find(([, s]) => s.status === "False");
  if (failing) return { status: "False", reason: failing[1].reason, message: `${failing[0]}: ${failing[1].message}` };
  const unknown = entries.find(([, s]) => s.status === "Unknown");
  if (unknown) return { status: "Unknown", reason: unknown[1].reason, message: `${unknown[0]}: ${unknown[1].message}` };
  return { status: "True", reason: "Published", message: "the paid route is served" };
}

/**
 * Builds the next condition list. A condition keeps its lastTransitionTime unless its
 * status changed; conditions of types we do not manage (e.g. Registered) are kept as they are.
 */
export function nextConditions(
  previous: readonly Condition[],
  states: ReadonlyArray<readonly [ConditionType, ConditionState]>,
  generation: number | undefined,
  now: string,
): Condition[] {
  const managed = new Set(states.map(([type]) => type));
  const next: Condition[] = states.map(([type, state]) => {
    const before = previous.find((c) => c.type === type);
    const lastTransitionTime = before && before.status === state.status && before.lastTransitionTime
      ? before.lastTransitionTime
      : now;
    const condition: Condition = { type, status: state.status, reason: state.reason, message: state.message, lastTransitionTime };
    if (generation !== undefined) condition.observedGeneration = generation;
    return condition;
  });
  return [...next, ...previous.filter((c) => !managed.has(c.type as ConditionType))];
}

/** Kubernetes writes times as RFC 3339 with whole seconds. */
export function kubeTime(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, "Z");
}
