import { describe, expect, it } from "vitest";
import { deploymentMemoryLimit } from "./memory-limit.ts";

describe("deployment memory limits", () => {
  it("reads each component's limits.memory from its Deployment", () => {
    expect(deploymentMemoryLimit("verifier")).toBe(256 * 2 ** 20);
    expect(deploymentMemoryLimit("controller")).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });
});
