import { defineConfig } from "vitest/config";

// The real-cluster scenarios: one stack, scenarios in order, generous timeouts.
export default defineConfig({
  test: {
    include: ["tests/kind/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 900_000,
  },
});
