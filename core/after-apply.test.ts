import { describe, expect, it } from "vitest";
import { afterApply } from "./after-apply.ts";
import { ANNOTATION_FINGERPRINT } from "./fingerprint.ts";
import type { KubeObject } from "./kube.ts";

const desired: KubeObject = {
  apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute",
  metadata: { name: "demo-payment", namespace: "shop", labels: { a: "1" }, annotations: { [ANNOTATION_FINGERPRINT]: "f2" } },
  spec: { amount: "1000" },
};
const admitted = { admitted: true, lastAdmittedGeneration: 3 };
const current = (spec: unknown, fingerprint: string): KubeObject => ({
  ...desired, metadata: { ...desired.metadata, labels: {}, annotations: { [ANNOTATION_FINGERPRINT]: fingerprint }, generation: 3, resourceVersion: "77" }, spec, status: admitted,
});

describe("a child as the apply leaves it", () => {
  it("a new child is generation 1 with no status yet", () => {
    expect(afterApply({ desired, inPlace: false })).toEqual({ desired, inPlace: true, current: { ...desired, metadata: { ...desired.metadata, generation: 1 }, status: undefined } });
  });

  it("a changed spec is a new generation; the status others wrote stays, judging the old one", () => {
    const after = afterApply({ desired, current: current({ amount: "1" }, "f1"), inPlace: false });
    expect(after.current).toMatchObject({ metadata: { generation: 4, labels: { a: "1" } }, spec: { amount: "1000" }, status: admitted });
  });

  it("a new desire is a new generation even when the fields we set already hold (it may drop one we set before)", () => {
    expect(afterApply({ desired, current: current({ amount: "1000" }, "f1"), inPlace: false }).current?.metadata.generation).toBe(4);
  });

  it("repairing metadata alone keeps the generation, so what others judged still holds", () => {
    const after = afterApply({ desired, current: current({ amount: "1000", extra: "theirs" }, "f2"), inPlace: false });
    expect(after.current).toMatchObject({ metadata: { generation: 3, labels: { a: "1" } }, status: admitted });
  });
});
