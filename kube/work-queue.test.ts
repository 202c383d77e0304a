import { describe, expect, it } from "vitest";
import { manualClock } from "../adapters/clock.ts";
import { startWorkQueue } from "./work-queue.ts";

const tick = () => new Promise((r) => setImmediate(r));

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe("work queue", () => {
  it("runs a key added many times while waiting once", async () => {
    const clock = manualClock();
    const seen: string[] = [];
    const busy = gate();
    const queue = startWorkQueue({ clock, concurrency: 1 }, async (key) => {
      seen.push(key);
      if (key === "busy") await busy.promise;
    }, () => {});
    queue.add("busy");
    queue.add("a");
    queue.add("a");
    queue.add("b");
    queue.add("a");
    busy.open();
    await clock.advance(0);
    expect(seen).toEqual(["busy", "a", "b"]);
  });

  it("never runs one key twice at once, and reruns a key added while it ran", async () => {
    const clock = manualClock();
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const first = gate();
    const queue = startWorkQueue({ clock, concurrency: 4 }, async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      if (runs === 1) await first.promise;
      running--;
    }, () => {});
    queue.add("a");
    await tick();
    queue.add("a");
    queue.add("a");
    await tick();
    expect(runs).toBe(1);
    first.open();
    await clock.advance(0);
    expect(runs).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it("bounds concurrency", async () => {
    const clock = manualClock();
    const hold = gate();
    let running = 0;
    let maxRunning = 0;
    const queue = startWorkQueue({ clock, concurrency: 2 }, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await hold.promise;
      running--;
    }, () => {});
    for (const key of ["a", "b", "c", "d"]) queue.add(key);
    await tick();
    expect(running).toBe(2);
    expect(queue.depth).toBe(2);
    hold.open();
    await clock.advance(0);
    expect(maxRunning).toBe(2);
  });

  it("backs off a failing key exponentially, with jitter, and forgets after a success", async () => {
    const clock = manualClock();
    const runsAt: number[] = [];
    let fail = 3;
    const delays: number[] = [];
    const queue = startWorkQueue({ clock, concurrency: 1, backoff: { initialMs: 100, maxMs: 1000 }, random: () => 1 }, async () => {
      runsAt.push(clock.now());
      if (fail-- > 0) throw new Error("boom");
    }, (_k, _e, retry) => delays.push(retry));
    queue.add("a");
    await clock.advance(10_000);
    expect(delays).toEqual([100, 200, 400]);
    expect(runsAt).toEqual([0, 100, 300, 700]);
  });

  it("requeues after the delay a reconcile asks for, keeping the earliest wake-up", async () => {
    const clock = manualClock();
    const runsAt: number[] = [];
    const queue = startWorkQueue({ clock, concurrency: 1 }, async () => {
      runsAt.push(clock.now());
      return runsAt.length === 1 ? { requeueAfterMs: 5000 } : undefined;
    }, () => {});
    queue.add("a");
    await clock.advance(100);
    queue.addAfter("a", 1000);
    await clock.advance(10_000);
    expect(runsAt).toEqual([0, 1100]);
  });

  it("limits the overall rate of reconciles", async () => {
    const clock = manualClock();
    let runs = 0;
    const queue = startWorkQueue({ clock, concurrency: 10, rateLimit: { perSecond: 10, burst: 5 } }, async () => void runs++, () => {});
    for (let i = 0; i < 20; i++) queue.add(`k${i}`);
    await clock.advance(0);
    expect(runs).toBe(5);
    await clock.advance(1000);
    expect(runs).toBe(15);
    await clock.advance(1000);
    expect(runs).toBe(20);
  });

  it("waits for reconciles under way on shutdown, and takes no new work", async () => {
    const clock = manualClock();
    const hold = gate();
    let done = 0;
    const queue = startWorkQueue({ clock, concurrency: 1 }, async () => {
      await hold.promise;
      done++;
    }, () => {});
    queue.add("a");
    await tick();
    const stopped = queue.shutdown();
    queue.add("b");
    hold.open();
    await stopped;
    expect(done).toBe(1);
  });
});
