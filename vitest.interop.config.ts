import { defineConfig } from "vitest/config";

// Real processes (a chain, verifiers, facilitators): one file at a time, generous timeouts.
export default defineConfig({
  test: {
    include: ["tests/interop/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
