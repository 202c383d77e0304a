import { describe, expect, it } from "vitest";
import { childLabels, childMetadata, ownerKeyOf } from "./ownership.ts";

describe("ownership", () => {
  it("owns same-namespace children with a controller reference", () => {
    const metadata = childMetadata({ namespace: "a", name: "o", uid: "u" }, "c", "a");
    expect(metadata.ownerReferences).toEqual([
      { apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", name: "o", uid: "u", controller: true, blockOwnerDeletion: true },
    ]);
    expect(ownerKeyOf(metadata)).toBe("a/o");
  });

  it("keeps label values within 63 characters for long offer names", () => {
    const labels = childLabels({ namespace: "a", name: "n".repeat(100) });
    expect(labels["obol.org/offer-name"]!.length).toBeLessThanOrEqual(63);
  });

  it("ignores an annotation that is not namespace/name", () => {
    expect(ownerKeyOf({ name: "c", annotations: { "obol.org/offer": "garbage" } })).toBeUndefined();
  });
});
