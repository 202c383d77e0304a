import { describe, expect, it } from "vitest";
import { manualClock } from "../adapters/clock.ts";
import { jsonLogger } from "../adapters/log.ts";
import { type Lease, type LeaseStore, microTime, startElection } from "./leader-election.ts";

const quiet = jsonLogger({}, () => {});

/** A Lease kept in memory with the API server's optimistic concurrency: a stale resourceVersion gets a conflict. */
function memoryStore() {
  let lease: Lease | undefined;
  let version = 0;
  const writes: string[] = [];
  const conflict = () => Object.assign(new Error("409 conflict"), { kind: "conflict" });
  const store = (who: string, broken = { down: false }): LeaseStore => ({
    async get() {
      if (broken.down) throw new Error("connection refused");
      return lease && structuredClone(lease);
    },
    async create(spec) {
      if (broken.down) throw new Error("connection refused");
      if (lease) throw conflict();
      lease = { metadata: { name: "x402-controller", namespace: "x402", resourceVersion: String(++version) }, spec };
      writes.push(`${who} create ${spec.holderIdentity}`);
      return structuredClone(lease);
    },
    async update(next) {
      if (broken.down) throw new Error("connection refused");
      if (next.metadata.resourceVersion !== lease?.metadata.resourceVersion) throw conflict();
      lease = { metadata: { ...next.metadata, resourceVersion: String(++version) }, spec: next.spec };
      writes.push(`${who} update ${next.spec.holderIdentity || "(released)"}`);
      return structuredClone(lease);
    },
  });
  return { store, writes, current: () => lease };
}

describe("leader election", () => {
  it("writes MicroTime with six fractional digits", () => {
    expect(microTime(Date.UTC(2026, 0, 1, 0, 0, 0, 123))).toBe("2026-01-01T00:00:00.123000Z");
  });

  it("makes one leader; a standby takes over within the lease duration after the leader dies", async () => {
    const clock = manualClock(1_000_000);
    const memory = memoryStore();
    const aNetwork = { down: false };
    const a = startElection({ identity: "a", store: memory.store("a", aNetwork), clock, log: quiet, random: () => 0 });
    await clock.advance(0);
    const b = startElection({ identity: "b", store: memory.store("b"), clock, log: quiet, random: () => 0 });
    await clock.advance(5000);
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(memory.current()?.spec.holderIdentity).toBe("a");

    aNetwork.down = true; // the leader dies: no more renewals
    const diedAt = clock.now();
    let tookOverAt = 0;
    void b.acquired.then(() => (tookOverAt = clock.now()));
    await clock.advance(20_000);
    expect(b.isLeader()).toBe(true);
    expect(tookOverAt - diedAt).toBeLessThanOrEqual(15_000 + 2_000); // lease duration + one retry period
    expect(a.isLeader()).toBe(false); // it could not renew within its deadline, so it stepped down
    expect(memory.current()?.spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    await b.stop();
  });

  it("hands over at once when the leader releases the lease on shutdown", async () => {
    const clock = manualClock(1_000_000);
    const memory = memoryStore();
    const a = startElection({ identity: "a", store: memory.store("a"), clock, log: quiet, random: () => 0 });
    await clock.advance(0);
    const b = startElection({ identity: "b", store: memory.store("b"), clock, log: quiet, random: () => 0 });
    await clock.advance(3000);
    await a.stop();
    expect(memory.current()?.spec.holderIdentity).toBe("");
    await clock.advance(2500);
    expect(b.isLeader()).toBe(true);
    await b.stop();
  });

  it("trusts its own clock, not the renewTime written by another machine", async () => {
    const clock = manualClock(1_000_000);
    const memory = memoryStore();
    // A holder whose clock is far behind wrote a renewTime long in the past; it is still renewing.
    await memory.store("old").create({ holderIdentity: "old", leaseDurationSeconds: 15, renewTime: microTime(0), acquireTime: microTime(0) });
    const b = startElection({ identity: "b", store: memory.store("b"), clock, log: quiet, random: () => 0 });
    await clock.advance(10_000);
    expect(b.isLeader()).toBe(false);
    await b.stop();
  });

  it("releases the lease after a renewal or an acquisition that was under way when stopped", async () => {
    for (const phase of ["renewing", "acquiring"] as const) {
      const clock = manualClock(1_000_000);
      const memory = memoryStore();
      const inner = memory.store("a");
      let gate: Promise<void> | undefined;
      let open!: () => void;
      const slowed: LeaseStore = { ...inner, get: async () => (await gate, inner.get()) };
      if (phase === "acquiring") gate = new Promise((r) => (open = r));
      const a = startElection({ identity: "a", store: slowed, clock, log: quiet, random: () => 0 });
      if (phase === "renewing") {
        await clock.advance(0);
        expect(a.isLeader()).toBe(true);
        gate = new Promise((r) => (open = r));
        await clock.advance(2_000); // the renewal starts and waits at the gate
      }
      const stopped = a.stop();
      open();
      await stopped;
      expect(memory.writes.at(-1)).toBe("a update (released)");
      expect(memory.current()?.spec.holderIdentity).toBe("");
    }
  });
});
