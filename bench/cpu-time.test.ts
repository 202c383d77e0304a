import { describe, expect, it } from "vitest";
import { cpuMs } from "./cpu-time.ts";

describe("cpuMs", () => {
  it("grows with the CPU this process spends, and never shrinks", () => {
    const before = cpuMs(process.pid);
    const until = performance.now() + 300;
    let spin = 0;
    while (performance.now() < until) spin++;
    const after = cpuMs(process.pid);
    expect(spin).toBeGreaterThan(0);
    expect(after - before).toBeGreaterThanOrEqual(200); // 300 ms of busy loop, in 10 ms ticks
  });
});
