import { describe, expect, it } from "vitest";
import { manualClock } from "../adapters/clock.ts";
import { jsonLogger } from "../adapters/log.ts";
import type { ProbeTarget } from "./health-probe.ts";
import { startProbeScheduler } from "./probe-scheduler.ts";

const target: ProbeTarget = { namespace: "llm", service: "ollama", port: 11434, healthPath: "/health" };
const quiet = jsonLogger({}, () => {});

describe("probe scheduler", () => {
  it("probes at once, then every interval, and reports only changes", async () => {
    const clock = manualClock();
    let healthy = true;
    let probes = 0;
    const changed: string[] = [];
    const scheduler = startProbeScheduler(async () => (probes++, { healthy, message: healthy ? "up" : "down" }), clock, 10_000, quiet, (k) => changed.push(k));
    expect(await scheduler.observe("llm/a", target)).toEqual({ healthy: true, message: "up" });
    expect(changed).toEqual([]); // the caller got the first answer itself
    await clock.advance(30_000);
    expect(probes).toBe(4);
    expect(changed).toEqual([]); // same answer: nothing to tell
    healthy = false;
    await clock.advance(10_000);
    expect(changed).toEqual(["llm/a"]);
    expect((await scheduler.observe("llm/a", target)).healthy).toBe(false);
    scheduler.stop();
  });

  it("probes again at once when the target changes", async () => {
    const clock = manualClock();
    const probed: number[] = [];
    const scheduler = startProbeScheduler(async (t) => (probed.push(t.port), { healthy: true, message: "up" }), clock, 10_000, quiet, () => {});
    await scheduler.observe("llm/a", target);
    await scheduler.observe("llm/a", { ...target, port: 8000 });
    expect(probed).toEqual([11434, 8000]);
    await clock.advance(10_000);
    expect(probed).toEqual([11434, 8000, 8000]); // the old target's timer is gone
    scheduler.stop();
  });
});
