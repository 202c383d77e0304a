import { describe, expect, it } from "vitest";
import type { ProbeTarget } from "./health-probe.ts";
import { sharedProber } from "./shared-prober.ts";

const ollama: ProbeTarget = { namespace: "llm", service: "ollama", port: 11434, healthPath: "/health" };

function counting() {
  const calls: ProbeTarget[] = [];
  let release!: () => void;
  let held = Promise.resolve();
  return {
    calls,
    hold: () => (held = new Promise<void>((r) => (release = r))),
    release: () => release(),
    prober: async (target: ProbeTarget) => {
      calls.push(target);
      await held;
      return { healthy: true, message: `probe ${calls.length}` };
    },
  };
}

describe("shared prober", () => {
  it("gives every offer of one upstream the probe under way, and the same answer while it is fresh", async () => {
    let time = 0;
    const inner = counting();
    const probe = sharedProber(inner.prober, () => time, 500);
    inner.hold();
    const first = probe(ollama);
    const second = probe({ ...ollama });
    inner.release();
    expect(await first).toEqual({ healthy: true, message: "probe 1" });
    expect(await second).toEqual({ healthy: true, message: "probe 1" });
    time = 499;
    expect(await probe(ollama)).toEqual({ healthy: true, message: "probe 1" });
    expect(inner.calls).toHaveLength(1);
  });

  it("probes again once the answer is maxAge old, and each target on its own", async () => {
    let time = 0;
    const inner = counting();
    const probe = sharedProber(inner.prober, () => time, 500);
    await probe(ollama);
    await probe({ ...ollama, port: 8080 });
    await probe({ ...ollama, healthPath: "/ready" });
    expect(inner.calls).toHaveLength(3);
    time = 500;
    expect(await probe(ollama)).toEqual({ healthy: true, message: "probe 4" });
    expect(inner.calls).toHaveLength(4);
  });

  it("does not share a failed probe: the next asker tries again", async () => {
    let fail = true;
    let calls = 0;
    const probe = sharedProber(async () => {
      calls++;
      if (fail) throw new Error("API server away");
      return { healthy: true, message: "up" };
    }, () => 0, 500);
    await expect(probe(ollama)).rejects.toThrow("API server away");
    fail = false;
    expect(await probe(ollama)).toEqual({ healthy: true, message: "up" });
    expect(calls).toBe(2);
  });
});
