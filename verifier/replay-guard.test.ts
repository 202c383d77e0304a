import { describe, expect, it } from "vitest";
import { replayGuardContract } from "./replay-guard.contract.ts";
import { memoryReplayGuard, reservationKey } from "./replay-guard.ts";

describe("in-process replay guard", () => {
  replayGuardContract(async () => memoryReplayGuard());

  it("treats addresses case-insensitively", () => {
    expect(reservationKey(1, "0xAA", "0xBB", "0xCC")).toBe(reservationKey(1, "0xaa", "0xbb", "0xcc"));
  });

  it("forgets expired reservations so memory stays bounded", async () => {
    const guard = memoryReplayGuard();
    for (let i = 0; i < 1000; i++) await guard.reserve(`k${i}`, 20n, 10n, "p");
    await guard.reserve("late", 100n, 60n, "p");
    expect(guard.size).toBe(1);
  });
});
