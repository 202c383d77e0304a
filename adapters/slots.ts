// A bound on work in progress at once (each payment holds facilitator or RPC calls open):
// a flood of junk payments with valid signatures queues here instead of opening thousands
// of sockets to a facilitator. Work that finds no slot before its deadline is refused by
// the caller (the verifier answers 503) before anything is sent.
import { beforeDeadline, type Deadline, TIMED_OUT } from "./deadline.ts";

export type Slots = {
  /** A release function, or undefined when no slot came free before the deadline. */
  acquire(deadline: Deadline): Promise<(() => void) | undefined>;
  readonly inUse: number;
  readonly waiting: number;
};

export function boundedSlots(limit: number): Slots {
  let inUse = 0;
  const queue: (() => void)[] = [];
  const releaser = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      if (next) next(); // the slot passes straight to the next in line
      else inUse--;
    };
  };
  return {
    async acquire(deadline) {
      if (inUse < limit) {
        inUse++;
        return releaser();
      }
      let handOver!: () => void;
      const granted = new Promise<void>((resolve) => (handOver = resolve));
      queue.push(handOver);
      if ((await beforeDeadline(deadline, granted)) !== TIMED_OUT) return releaser();
      const at = queue.indexOf(handOver);
      if (at >= 0) queue.splice(at, 1);
      else releaser()(); // granted just as time ran out: pass it on
      return undefined;
    },
    get inUse() {
      return inUse;
    },
    get waiting() {
      return queue.length;
    },
  };
}
