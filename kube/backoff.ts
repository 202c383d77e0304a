// The one retry backoff of the toolkit: a watch that failed and a reconcile that failed
// wait the same way. Exponential, so a long outage is not hammered; capped, so recovery is
// noticed within the cap; jittered in the upper half, so replicas and keys that failed
// together do not retry together.

export type Backoff = {
  /** The wait after the first failure (before jitter). */
  initialMs: number;
  /** The most it ever grows to. */
  maxMs: number;
};

/** The wait after `failures` consecutive failures (1 for the first): half the ceiling plus up to half again at random. */
export function backoffDelay(failures: number, { initialMs, maxMs }: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}
