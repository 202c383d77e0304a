// The replay guard of a verifier fleet: reservations in Valkey/Redis, shared by every replica,
// with the same contract as the in-process guard (replay-guard.ts). Each operation is one Lua
// script, so it is atomic on the store: a reservation is taken by one set-if-absent, and claims
// and transitions are compare-and-set.
//
// Each write names its replica (`o`), and each replica keeps a liveness key fresh. A reservation
// held in flight (or resolving) by a replica whose liveness key is gone is "orphaned": the
// replica died mid-payment, so a retry of the same payment resolves it from the chain, as it
// would an unknown outcome. Taking or claiming a reservation also proves its replica alive.
// A replica's later writes apply only while it still owns the
// reservation, so one that comes back after being thought dead cannot undo its successor's work.
//
// Store unreachable: reading and taking holds throw ReplayStoreUnavailable (the request is
// answered 503 and no payment is taken). Writes after money may have moved (mark, transition,
// release) are kept and retried until they land: meanwhile the reservation stays "in-flight",
// which every replica answers with 503 (never a second payment, never a free one).
import { randomBytes } from "node:crypto";
import { type Store, StoreError, script } from "../adapters/redis.ts";
import type { Logger } from "../adapters/log.ts";
import { type ReplayGuard, ReplayStoreUnavailable, type Reservation, type ReservationState, UNKNOWN_KEPT_SECONDS } from "./replay-guard.ts";

/** A replica is taken for dead this long after its last heartbeat; it beats every LIVENESS_MS / 5. */
export const LIVENESS_MS = 15_000;
const HOLD = "x402:hold:";
const LIVE = "x402:live:";
/** No key outlives this, whatever expiry a payment names (the checks bound it far below). */
const MAX_KEEP_SECONDS = 30n * 24n * 3600n;

// Returns the reservation as {state, expires, payment, transaction, orphaned} or nil when none holds.
const CURRENT = `
local function current(key, now, kept, live)
  local r = redis.call('HMGET', key, 's', 'e', 'p', 't', 'o')
  if not r[1] then return nil end
  local orphaned = (r[1] == 'in-flight' or r[1] == 'resolving') and redis.call('EXISTS', live .. (r[5] or '')) == 0
  local doubtful = r[1] == 'unknown' or r[1] == 'resolving' or orphaned
  local until_ = tonumber(r[2]) + (doubtful and kept or 0)
  if until_ < now then return nil end
  return {r[1], r[2], r[3], r[4] or '', orphaned and '1' or '0'}
end
`;
const PEEK = script(`${CURRENT} return current(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])`, 1);
const RESERVE = script(`${CURRENT}
local held = current(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])
if held then return held end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', 'in-flight', 'e', ARGV[4], 'p', ARGV[5], 'o', ARGV[6], 'k', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('SET', ARGV[3] .. ARGV[6], '1', 'PX', ARGV[8])
return false`, 1);
const CLAIM = script(`${CURRENT}
local held = current(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])
if not held or held[3] ~= ARGV[4] then return 0 end
if held[1] ~= 'unknown' and held[5] ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 's', 'resolving', 'o', ARGV[5])
redis.call('SET', ARGV[3] .. ARGV[5], '1', 'PX', ARGV[6])
return 1`, 1);
// ARGV: from ('' = any), to, transaction ('' = keep), owner
const MOVE = script(`
local r = redis.call('HMGET', KEYS[1], 's', 'o')
if not r[1] or r[2] ~= ARGV[4] or (ARGV[1] ~= '' and r[1] ~= ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 't', ARGV[3]) end
return 1`, 1);
// ARGV: owner, attempt token ('' = any): a token releases only the hold that very attempt took, still in flight.
const RELEASE = script(`
local r = redis.call('HMGET', KEYS[1], 'o', 'k', 's')
if r[1] ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and (r[2] ~= ARGV[2] or r[3] ~= 'in-flight') then return 0 end
return redis.call('DEL', KEYS[1])`, 1);

/**
 * writeWaitMs: how long a write after money moved may hold up its answer before it is kept for
 * later; short, since the answer's budget may be spent already (a healthy store answers in ms).
 */
export type RedisGuardOptions = { store: Store; replica: string; log: Logger; retryEveryMs?: number; writeWaitMs?: number };

export type RedisReplayGuard = ReplayGuard & { /** Writes waiting for the store to come back. */ readonly pending: number };

export function redisReplayGuard({ store, replica, log, retryEveryMs = 500, writeWaitMs = 150 }: RedisGuardOptions): RedisReplayGuard {
  const kept = String(UNKNOWN_KEPT_SECONDS);
  const LIVENESS = String(LIVENESS_MS);
  const pending: { key: string; script: typeof MOVE; args: string[] }[] = [];
  const read = async <T>(work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } catch (error) {
      throw unavailable(error);
    }
  };
  const keep = (key: string, s: typeof MOVE, args: string[], error: unknown) => {
    pending.push({ key, script: s, args });
    log.error("payment store unreachable; the write is kept and retried", { reservation: key, error: String(error), pending: pending.length });
  };
  // A write that must land: tried now, but waited for only briefly (the answer has a budget),
  // else kept and retried. Made twice at worst, which every write here tolerates.
  const write = async (key: string, s: typeof MOVE, args: string[]): Promise<boolean | "kept"> => {
    // A newer write for a hold supersedes the moves kept for it: replayed later, an older one
    // would undo it (a "done" kept, landing after the "unknown" written instead, made the
    // buyer's retry a 402 for a payment that was taken).
    for (let i = pending.length - 1; i >= 0; i--) if (pending[i]!.key === key && pending[i]!.script === MOVE) pending.splice(i, 1);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const slow = new Promise<"slow">((resolve) => timer = setTimeout(() => resolve("slow"), writeWaitMs));
    try {
      const answer = await Promise.race([store.run(s, [HOLD + key], args), slow]);
      if (answer !== "slow") return answer === 1;
      keep(key, s, args, "no answer in time");
      return "kept";
    } catch (error) {
      if (error instanceof StoreError && error.kind === "refused") {
        log.error("payment store refused a write; it is not retried", { reservation: key, error: error.message });
        return false;
      }
      keep(key, s, args, error);
      return "kept";
    } finally {
      clearTimeout(timer);
    }
  };
  const flush = async () => {
    while (pending.length > 0 && store.ready()) {
      const next = pending[0]!;
      // Taken out by identity: a newer write may have superseded entries meanwhile.
      const done = () => pending.includes(next) && pending.splice(pending.indexOf(next), 1);
      try {
        await store.run(next.script, [HOLD + next.key], next.args);
        done();
      } catch (error) {
        if (!(error instanceof StoreError && error.kind === "refused")) return;
        // Refused for good (a hold someone overwrote with another type): not to block the writes behind it.
        log.error("payment store refused a kept write; it is dropped", { reservation: next.key, error: error.message });
        done();
      }
    }
  };
  // Beats as soon as the store is (back) up, then every LIVENESS_MS / 5; held writes follow the beat.
  let lastBeat = 0;
  const tick = async () => {
    if (!store.ready()) return;
    if (Date.now() - lastBeat >= LIVENESS_MS / 5) {
      const beaten = await store.setFor(LIVE + replica, "1", LIVENESS_MS).then(() => true, () => false);
      if (beaten) lastBeat = Date.now();
    }
    await flush();
  };
  void tick();
  const timer = setInterval(() => void tick(), retryEveryMs);
  timer.unref?.();
  const move = (key: string, from: ReservationState | "", to: ReservationState, transaction?: string) => write(key, MOVE, [from, to, transaction ?? "", replica]);
  return {
    async peek(key, now) {
      return reservationOf(await read(store.run(PEEK, [HOLD + key], [String(now), kept, LIVE])));
    },
    async reserve(key, expires, now, payment) {
      // Relative to our clock, as every time here is: the store's own clock plays no part.
      const hold = expires + UNKNOWN_KEPT_SECONDS - now;
      const holdMs = (hold < 1n ? 1n : hold > MAX_KEEP_SECONDS ? MAX_KEEP_SECONDS : hold) * 1000n;
      const token = randomBytes(8).toString("hex");
      let reply: unknown;
      try {
        reply = await store.run(RESERVE, [HOLD + key], [String(now), kept, LIVE, String(expires), payment, replica, String(holdMs), LIVENESS, token]);
      } catch (error) {
        // A command that timed out may still be run once the store wakes: what it took, if anything, is let go.
        if (!(error instanceof StoreError && error.kind === "refused")) keep(key, RELEASE, [replica, token], error);
        throw unavailable(error);
      }
      const held = reservationOf(reply);
      return held ? { ok: false, held } : { ok: true };
    },
    async claim(key, payment, now) {
      return (await read(store.run(CLAIM, [HOLD + key], [String(now), kept, LIVE, payment, replica, LIVENESS]))) === 1;
    },
    transition: (key, from, to, transaction) => move(key, from, to, transaction),
    async mark(key, state, transaction) {
      const moved = await move(key, "", state, transaction);
      return moved === "kept" ? "kept" : moved ? "recorded" : "not-ours";
    },
    async release(key) {
      await write(key, RELEASE, [replica, ""]);
    },
    get pending() {
      return pending.length;
    },
    async close() {
      clearInterval(timer);
      await flush();
      // Gone for good: what it still held is orphaned now, for the others to resolve.
      await store.del(LIVE + replica).catch(() => undefined);
    },
  };
}

function unavailable(error: unknown): ReplayStoreUnavailable {
  return new ReplayStoreUnavailable(error instanceof StoreError ? `${error.kind}: ${error.message}` : String(error));
}

const STATES: readonly ReservationState[] = ["in-flight", "unknown", "resolving", "done"];

function reservationOf(reply: unknown): Reservation | undefined {
  if (!Array.isArray(reply)) return undefined;
  const [state, expires, payment, transaction, orphaned] = reply.map(String);
  // Only this code writes the store; still, anything unexpected reads as "in flight": wait, never pay, never serve.
  const known = STATES.includes(state as ReservationState) ? state as ReservationState : "in-flight";
  const reservation: Reservation = { state: known, expires: /^\d{1,30}$/.test(expires!) ? BigInt(expires!) : 0n, payment: payment! };
  if (transaction) reservation.transaction = transaction;
  if (orphaned === "1") reservation.orphaned = true;
  return reservation;
}
