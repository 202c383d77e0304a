import { describe, expect, it } from "vitest";
import type { Condition } from "./kube.ts";
import { transitions } from "./transitions.ts";

const c = (type: string, status: "True" | "False" | "Unknown", reason = "R", message = "m"): Condition => ({ type, status, reason, message, lastTransitionTime: "t" });

describe("transitions", () => {
  it("announces publication once", () => {
    const before = [c("Ready", "False"), c("RoutePublished", "False")];
    const after = [c("Ready", "True"), c("RoutePublished", "True", "Published", "PathPrefix /x on gateway traefik/traefik-gateway")];
    expect(transitions(before, after)).toEqual([{ type: "Normal", reason: "Published", message: "PathPrefix /x on gateway traefik/traefik-gateway" }]);
    expect(transitions(after, after)).toEqual([]);
  });

  it("warns when the upstream goes down, and says when it is back", () => {
    const up = [c("UpstreamHealthy", "True"), c("Ready", "True")];
    const down = [c("UpstreamHealthy", "False", "Unreachable", "refused"), c("Ready", "False", "Unreachable", "refused")];
    expect(transitions(up, down)).toEqual([{ type: "Warning", reason: "UpstreamUnhealthy", message: "refused" }]);
    expect(transitions(down, up).map((e) => e.reason)).toEqual(["Published", "UpstreamRecovered"]);
  });

  it("warns about an invalid spec, again only when the problem changes", () => {
    const bad = [c("Ready", "False", "InvalidSpec", "spec.payment.payTo: bad")];
    expect(transitions([], bad)).toEqual([{ type: "Warning", reason: "InvalidSpec", message: "spec.payment.payTo: bad" }]);
    expect(transitions(bad, bad)).toEqual([]);
    expect(transitions(bad, [c("Ready", "False", "InvalidSpec", "spec.path: bad")])).toHaveLength(1);
  });

  it("warns about a reserved path the same way, and when an offer moves from one refusal to the other", () => {
    const reserved = [c("Ready", "False", "ReservedPath", 'spec.path: "/api" is reserved')];
    expect(transitions([], reserved)).toEqual([{ type: "Warning", reason: "ReservedPath", message: 'spec.path: "/api" is reserved' }]);
    expect(transitions(reserved, reserved)).toEqual([]);
    expect(transitions(reserved, [c("Ready", "False", "InvalidSpec", "spec.payment.payTo: bad")]).map((e) => e.reason)).toEqual(["InvalidSpec"]);
  });
});
