// The controller's work queue, as client-go's: one entry per key however often it is
// added, never the same key in two reconciles at once (a key added while it is being
// reconciled runs again afterwards), bounded concurrency, per-key exponential backoff
// with jitter after failures, and an overall rate limit on reconciles started.
import type { Clock } from "../adapters/clock.ts";
import { type Backoff, backoffDelay } from "./backoff.ts";

export type QueueOptions = {
  clock: Clock;
  concurrency: number;
  /** Failure backoff per key: initial, doubled per consecutive failure, up to max. */
  backoff?: Backoff;
  /** Overall: at most `perSecond` reconciles started per second, bursts up to `burst`. */
  rateLimit?: { perSecond: number; burst: number };
  random?: () => number;
};

export type Handler = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export type WorkQueue = {
  add(key: string): void;
  addAfter(key: string, ms: number): void;
  readonly depth: number;
  readonly active: number;
  /** Stops taking work and waits for the reconciles under way. */
  shutdown(): Promise<void>;
};

export function startWorkQueue(options: QueueOptions, handle: Handler, onError: (key: string, error: unknown, retryInMs: number) => void): WorkQueue {
  const { clock, concurrency } = options;
  const backoff = options.backoff ?? { initialMs: 100, maxMs: 60_000 };
  const { perSecond, burst } = options.rateLimit ?? { perSecond: 100, burst: 500 };
  const random = options.random ?? Math.random;
  const ready: string[] = [];
  const queued = new Set<string>();
  const processing = new Set<string>();
  const dirty = new Set<string>(); // added again while processing
  const delayed = new Map<string, { at: number; cancel: () => void }>();
  const failures = new Map<string, number>();
  let tokens = burst;
  let refilledAt = clock.now();
  let waitingForToken = false;
  let stopping = false;
  let idle: (() => void) | undefined;

  const add = (key: string) => {
    if (stopping) return;
    if (processing.has(key)) return void dirty.add(key);
    if (queued.has(key)) return;
    queued.add(key);
    ready.push(key);
    pump();
  };

  const addAfter = (key: string, ms: number) => {
    if (stopping) return;
    if (ms <= 0) return add(key);
    const at = clock.now() + ms;
    const existing = delayed.get(key);
    if (existing && existing.at <= at) return; // an earlier wake-up is already set
    existing?.cancel();
    delayed.set(key, { at, cancel: clock.setTimeout(() => (delayed.delete(key), add(key)), ms) });
  };

  const takeToken = (): boolean => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * perSecond);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const pump = () => {
    while (!stopping && processing.size < concurrency && ready.length > 0) {
      if (!takeToken()) {
        if (!waitingForToken) {
          waitingForToken = true;
          clock.setTimeout(() => (waitingForToken = false, pump()), Math.ceil(1000 / perSecond));
        }
        return;
      }
      const key = ready.shift()!;
      queued.delete(key);
      processing.add(key);
      void run(key);
    }
  };

  const run = async (key: string) => {
    let next: number | undefined;
    try {
      const result = await handle(key);
      failures.delete(key);
      next = result?.requeueAfterMs;
    } catch (error) {
      const count = (failures.get(key) ?? 0) + 1;
      failures.set(key, count);
      next = backoffDelay(count, backoff, random);
      onError(key, error, next);
    } finally {
      processing.delete(key);
    }
    if (dirty.delete(key)) add(key);
    else if (next !== undefined) addAfter(key, next);
    if (processing.size === 0 && idle) idle();
    pump();
  };

  return {
    add,
    addAfter,
    get depth() {
      return ready.length;
    },
    get active() {
      return processing.size;
    },
    async shutdown() {
      stopping = true;
      for (const { cancel } of delayed.values()) cancel();
      delayed.clear();
      if (processing.size > 0) await new Promise<void>((resolve) => (idle = resolve));
    },
  };
}
