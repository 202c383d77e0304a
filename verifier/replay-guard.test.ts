import { describe, expect, it } from "vitest";
import { memoryReplayGuard, reservationKey, UNKNOWN_KEPT_SECONDS } from "./replay-guard.ts";

const key = reservationKey(84532, "0xToken", "0xAbC", "0x01");

describe("replay guard", () => {
  it("holds a reservation until the authorization expires", () => {
    const guard = memoryReplayGuard();
    expect(guard.reserve(key, 100n, 10n, "p")).toEqual({ ok: true });
    expect(guard.reserve(key, 100n, 50n, "p")).toEqual({ ok: false, held: { state: "in-flight", expires: 100n, payment: "p" } });
    expect(guard.reserve(key, 100n, 100n, "p").ok).toBe(false);
    expect(guard.reserve(key, 200n, 101n, "p").ok).toBe(true);
  });

  it("remembers what happened to a held payment", () => {
    const guard = memoryReplayGuard();
    guard.reserve(key, 100n, 10n, "p");
    guard.mark(key, "unknown", "0xabc");
    expect(guard.reserve(key, 100n, 11n, "p")).toEqual({ ok: false, held: { state: "unknown", expires: 100n, payment: "p", transaction: "0xabc" } });
    guard.mark(key, "done");
    expect(guard.reserve(key, 100n, 12n, "p")).toEqual({ ok: false, held: { state: "done", expires: 100n, payment: "p", transaction: "0xabc" } });
  });

  it("frees a released reservation", () => {
    const guard = memoryReplayGuard();
    guard.reserve(key, 100n, 10n, "p");
    guard.release(key);
    expect(guard.reserve(key, 100n, 10n, "p").ok).toBe(true);
  });

  it("treats addresses case-insensitively", () => {
    expect(reservationKey(1, "0xAA", "0xBB", "0xCC")).toBe(reservationKey(1, "0xaa", "0xbb", "0xcc"));
  });

  it("forgets expired reservations so memory stays bounded", () => {
    const guard = memoryReplayGuard();
    for (let i = 0; i < 1000; i++) guard.reserve(`k${i}`, 20n, 10n, "p");
    guard.reserve("late", 100n, 60n, "p");
    expect(guard.size).toBe(1);
  });

  it("lets exactly one caller move a reservation out of a state", () => {
    const guard = memoryReplayGuard();
    guard.reserve(key, 100n, 10n, "p");
    guard.mark(key, "unknown", "0xabc");
    const claims = Array.from({ length: 10 }, () => guard.transition(key, "unknown", "resolving"));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(guard.transition(key, "resolving", "in-flight")).toBe(true);
    expect(guard.reserve(key, 100n, 11n, "p")).toEqual({ ok: false, held: { state: "in-flight", expires: 100n, payment: "p", transaction: "0xabc" } });
    expect(guard.transition("absent", "unknown", "resolving")).toBe(false);
  });

  it("remembers an unknown outcome past the authorization's expiry, so a late retry is still resolved", () => {
    const guard = memoryReplayGuard();
    guard.reserve(key, 100n, 10n, "p");
    guard.mark(key, "unknown");
    expect(guard.reserve(key, 100n, 101n, "p")).toMatchObject({ ok: false, held: { state: "unknown" } });
    expect(guard.reserve(key, 100n, 101n + UNKNOWN_KEPT_SECONDS, "p").ok).toBe(true);
  });
});
