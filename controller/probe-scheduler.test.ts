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

  it("gives the latest observation as it is, the one `observe` gives for the same target", async () => {
    const clock = manualClock();
    let healthy = true;
    const scheduler = startProbeScheduler(async () => ({ healthy, message: healthy ? "up" : "down" }), clock, 10_000, quiet, () => {});
    expect(scheduler.latest("llm/a")).toBeUndefined();
    const first = await scheduler.observe("llm/a", target);
    expect(scheduler.latest("llm/a")).toBe(first);
    expect(await scheduler.observe("llm/a", target)).toBe(first); // nothing new: the very same observation
    healthy = false;
    await clock.advance(10_000);
    expect(scheduler.latest("llm/a")?.healthy).toBe(false);
    scheduler.forget("llm/a");
    expect(scheduler.latest("llm/a")).toBeUndefined();
    scheduler.stop();
  });
});
