// One time budget for one answer. Traefik gives a ForwardAuth call 30 s, fixed, then
// drops it: an answer later than that reaches nobody, and a buyer whose payment settled
// after Traefik gave up retries and is asked to pay again. Every wait in an answer (the
// upstream's Secret, verification, settlement) takes its time from the same deadline.

export type Deadline = { remainingMs(): number };

export const TIMED_OUT: unique symbol = Symbol("timed out");

export function deadlineAfter(ms: number, now: () => number = () => performance.now()): Deadline {
  const at = now() + ms;
  return { remainingMs: () => Math.max(0, Math.ceil(at - now())) };
}

/** A deadline that ends no later than `parent`, and `ms` from now at the latest. */
export function shorterOf(parent: Deadline, ms: number): Deadline {
  return deadlineAfter(Math.min(parent.remainingMs(), ms));
}

/** The work's result, or TIMED_OUT once the deadline passes (the work itself is not stopped). */
export function beforeDeadline<T>(deadline: Deadline, work: Promise<T>): Promise<T | typeof TIMED_OUT> {
  const remaining = deadline.remainingMs();
  if (remaining <= 0) {
    work.catch(() => undefined);
    return Promise.resolve(TIMED_OUT);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), remaining)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
