// What every replay store must do, as tests (a test file, shared: *.contract.ts): the in-process guard and the Valkey/Redis one
// run the same cases (replay-guard.test.ts, redis-replay-guard.test.ts).
import { expect, it } from "vitest";
import { type ReplayGuard, reservationKey, UNKNOWN_KEPT_SECONDS } from "./replay-guard.ts";

export function replayGuardContract(make: () => Promise<ReplayGuard>): void {
  const fresh = () => reservationKey(84532, "0xToken", "0xAbC", `0x${Math.random().toString(16).slice(2)}`);

  it("holds a reservation until the authorization expires", async () => {
    const guard = await make();
    const key = fresh();
    expect(await guard.reserve(key, 100n, 10n, "p")).toEqual({ ok: true });
    expect(await guard.reserve(key, 100n, 50n, "p")).toEqual({ ok: false, held: { state: "in-flight", expires: 100n, payment: "p" } });
    expect((await guard.reserve(key, 100n, 100n, "p")).ok).toBe(false);
    expect((await guard.reserve(key, 200n, 101n, "p")).ok).toBe(true);
  });

  it("remembers what happened to a held payment", async () => {
    const guard = await make();
    const key = fresh();
    await guard.reserve(key, 100n, 10n, "p");
    await guard.mark(key, "unknown", "0xabc");
    expect(await guard.reserve(key, 100n, 11n, "p")).toEqual({ ok: false, held: { state: "unknown", expires: 100n, payment: "p", transaction: "0xabc" } });
    await guard.mark(key, "done");
    expect(await guard.peek(key, 12n)).toEqual({ state: "done", expires: 100n, payment: "p", transaction: "0xabc" });
  });

  it("frees a released reservation", async () => {
    const guard = await make();
    const key = fresh();
    await guard.reserve(key, 100n, 10n, "p");
    await guard.release(key);
    expect(await guard.peek(key, 10n)).toBe(undefined);
    expect((await guard.reserve(key, 100n, 10n, "p")).ok).toBe(true);
  });

  it("lets exactly one of many concurrent callers take a reservation", async () => {
    const guard = await make();
    const key = fresh();
    const takes = await Promise.all(Array.from({ length: 20 }, () => guard.reserve(key, 100n, 10n, "p")));
    expect(takes.filter((take) => take.ok)).toHaveLength(1);
  });

  it("lets exactly one caller claim an unknown outcome, and only for the same payment", async () => {
    const guard = await make();
    const key = fresh();
    await guard.reserve(key, 100n, 10n, "p");
    await guard.mark(key, "unknown", "0xabc");
    expect(await guard.claim(key, "other", 11n)).toBe(false);
    const claims = await Promise.all(Array.from({ length: 10 }, () => guard.claim(key, "p", 11n)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await guard.transition(key, "resolving", "in-flight")).toBe(true);
    expect(await guard.peek(key, 11n)).toEqual({ state: "in-flight", expires: 100n, payment: "p", transaction: "0xabc" });
    expect(await guard.transition(key, "unknown", "resolving")).toBe(false);
    expect(await guard.claim(fresh(), "p", 11n)).toBe(false);
  });

  it("does not claim a payment that is in flight or done", async () => {
    const guard = await make();
    const key = fresh();
    await guard.reserve(key, 100n, 10n, "p");
    expect(await guard.claim(key, "p", 11n)).toBe(false);
    await guard.mark(key, "done");
    expect(await guard.claim(key, "p", 11n)).toBe(false);
  });

  it("remembers an unknown outcome past the authorization's expiry, so a late retry is still resolved", async () => {
    const guard = await make();
    const key = fresh();
    await guard.reserve(key, 100n, 10n, "p");
    await guard.mark(key, "unknown");
    expect(await guard.reserve(key, 100n, 101n, "p")).toMatchObject({ ok: false, held: { state: "unknown" } });
    expect((await guard.reserve(key, 100n, 101n + UNKNOWN_KEPT_SECONDS, "p")).ok).toBe(true);
  });
}
