// Time for the adapters, injectable so that queues, leases and probes can be tested
// without waiting: the real clock, or a manual one the test moves forward.

export type Clock = {
  now(): number;
  /** Runs fn after ms; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
};

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export type ManualClock = Clock & { advance(ms: number): Promise<void> };

export function manualClock(start = 0): ManualClock {
  let time = start;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 0;
  return {
    now: () => time,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.push({ at: time + Math.max(0, ms), fn, id });
      return () => void (timers = timers.filter((t) => t.id !== id));
    },
    /** Moves time forward, firing due timers in order and letting promises settle between them. */
    async advance(ms) {
      const end = time + ms;
      for (;;) {
        await new Promise((r) => setImmediate(r));
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        time = Math.max(time, due.at);
        due.fn();
      }
      time = end;
      await new Promise((r) => setImmediate(r));
    },
  };
}
