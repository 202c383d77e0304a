import { describe, expect, it } from "vitest";
import { type ConditionState, deriveReady, kubeTime, nextConditions } from "./conditions.ts";

const ok: ConditionState = { status: "True", reason: "Ok", message: "fine" };
const down: ConditionState = { status: "False", reason: "Down", message: "refused" };
const unsure: ConditionState = { status: "Unknown", reason: "Probing", message: "not yet" };

describe("deriveReady", () => {
  it("is True only when all are True", () => {
    expect(deriveReady({ UpstreamHealthy: ok, PaymentGateReady: ok, RoutePublished: ok }).status).toBe("True");
  });

  it("falls to False when any is False, even if another is Unknown", () => {
    const ready = deriveReady({ UpstreamHealthy: unsure, PaymentGateReady: down, RoutePublished: ok });
    expect(ready).toEqual({ status: "False", reason: "Down", message: "PaymentGateReady: refused" });
  });

  it("is Unknown while something is unknown and nothing failed", () => {
    expect(deriveReady({ UpstreamHealthy: unsure, PaymentGateReady: ok, RoutePublished: ok }).status).toBe("Unknown");
  });
});

describe("nextConditions", () => {
  const t0 = "2026-01-01T00:00:00Z";
  const t1 = "2026-01-01T00:05:00Z";

  it("keeps lastTransitionTime while the status stays, even when reason and message change", () => {
    const first = nextConditions([], [["Ready", ok]], 1, t0);
    const second = nextConditions(first, [["Ready", { ...ok, message: "other" }]], 2, t1);
    expect(second).toEqual([{ type: "Ready", status: "True", reason: "Ok", message: "other", lastTransitionTime: t0, observedGeneration: 2 }]);
  });

  it("moves lastTransitionTime when the status flips", () => {
    const first = nextConditions([], [["Ready", ok]], 1, t0);
    expect(nextConditions(first, [["Ready", down]], 1, t1)[0]?.lastTransitionTime).toBe(t1);
  });

  it("keeps conditions it does not manage", () => {
    const registered = { type: "Registered", status: "True" as const, reason: "Tx", message: "", lastTransitionTime: t0 };
    expect(nextConditions([registered], [["Ready", ok]], 1, t1)).toContainEqual(registered);
  });
});

describe("kubeTime", () => {
  it("drops milliseconds", () => {
    expect(kubeTime(new Date("2026-11-29T13:25:21.123Z"))).toBe("2026-11-29T13:25:21Z");
  });
});
