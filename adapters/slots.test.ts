import { describe, expect, it } from "vitest";
import { deadlineAfter } from "./deadline.ts";
import { boundedSlots } from "./slots.ts";

describe("payment slots", () => {
  it("lets `limit` payments in at once, the next in line when one ends", async () => {
    const slots = boundedSlots(2);
    const a = await slots.acquire(deadlineAfter(1000));
    const b = await slots.acquire(deadlineAfter(1000));
    const waiting = slots.acquire(deadlineAfter(1000));
    expect([slots.inUse, slots.waiting]).toEqual([2, 1]);
    a!();
    const c = await waiting;
    expect(typeof c).toBe("function");
    expect([slots.inUse, slots.waiting]).toEqual([2, 0]);
    b!();
    c!();
    c!(); // releasing twice frees one slot only
    expect(slots.inUse).toBe(0);
  });

  it("gives up when no slot comes free before the deadline, and forgets the waiter", async () => {
    const slots = boundedSlots(1);
    const held = await slots.acquire(deadlineAfter(1000));
    expect(await slots.acquire(deadlineAfter(20))).toBeUndefined();
    expect(slots.waiting).toBe(0);
    held!();
    expect(slots.inUse).toBe(0);
    expect(typeof (await slots.acquire(deadlineAfter(20)))).toBe("function");
  });
});
