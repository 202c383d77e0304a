import { describe, expect, it } from "vitest";
import { ANNOTATION_FINGERPRINT, isInPlace, withFingerprint } from "./fingerprint.ts";
import type { KubeObject } from "./kube.ts";

const route = (backend: Record<string, unknown>): KubeObject => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "r", namespace: "n" },
  spec: { backendRefs: [backend] },
});

describe("fingerprint", () => {
  it("notices a field we stopped setting, which a value comparison cannot", () => {
    const before = withFingerprint(route({ name: "api", namespace: "other", port: 80 }));
    const after = withFingerprint(route({ name: "api", port: 80 }));
    expect(isInPlace(before, after)).toBe(false);
  });

  it("accepts the same desire with fields the server added", () => {
    const desired = withFingerprint(route({ name: "api", port: 80 }));
    const served = structuredClone(desired) as KubeObject & { spec: { backendRefs: Record<string, unknown>[] } };
    served.spec.backendRefs[0]!.weight = 1;
    served.metadata.resourceVersion = "7";
    expect(isInPlace(served, desired)).toBe(true);
  });

  it("is stable and ignores key order", () => {
    const a = withFingerprint(route({ name: "api", port: 80 }));
    const b = withFingerprint(route({ port: 80, name: "api" }));
    expect(a.metadata.annotations?.[ANNOTATION_FINGERPRINT]).toBe(b.metadata.annotations?.[ANNOTATION_FINGERPRINT]);
  });
});
