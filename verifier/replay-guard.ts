// Each authorization pays once. A reservation on (chain, nonce space, payer, nonce) is taken
// before verifying and held until the authorization expires: a second use, concurrent or
// later, is refused even when we only verify and never settle. A definite failure frees
// it for an honest retry; an unknown settlement outcome keeps it, marked so that a retry
// of the same payment can learn what happened instead of being asked to pay again.
// Whoever moves a reservation out of a state owns the next step (`claim` and `transition`
// are compare-and-set), so ten concurrent retries of one payment resolve it once.
// Two stores keep reservations: this process (one replica) or Valkey/Redis (a fleet,
// redis-replay-guard.ts); both keep this contract, asynchronously.

export type ReservationKey = string;
/**
 * in-flight: being verified or settled; unknown: settlement sent, outcome not known;
 * resolving: a retry is finding out what happened; done: paid and served.
 */
export type ReservationState = "in-flight" | "unknown" | "resolving" | "done";
/**
 * `payment` names the exact authorization and route held (see paymentDigest): only that one may
 * resume an unknown outcome. `orphaned`: held in flight (or resolving) by a replica that is gone,
 * so nobody will finish it: a retry of the same payment resolves it as it would an unknown one.
 */
export type Reservation = { state: ReservationState; expires: bigint; payment: string; transaction?: string; orphaned?: boolean };

/** An unknown outcome is remembered this long past the authorization's expiry, so a late retry can still be resolved. */
export const UNKNOWN_KEPT_SECONDS = 3600n;

export function reservationKey(chainId: number, token: string, from: string, nonce: string): ReservationKey {
  return `${chainId}:${token.toLowerCase()}:${from.toLowerCase()}:${nonce.toLowerCase()}`;
}

/**
 * recorded: the store has it. kept: the store could not be asked; the write waits and is made
 * once it can be, while the reservation still reads as before (in flight: every replica waits).
 * A payment must not be served on a "done" that was only kept: the replica may be cut off, and
 * another one, finding the reservation orphaned, would resolve and serve it again. not-ours:
 * another replica holds it now (it took this one for dead), and it answers the buyer's retry.
 */
export type Recorded = "recorded" | "kept" | "not-ours";

/** The store could not be asked: nothing is known, so no payment may be taken (503, retry later). */
export class ReplayStoreUnavailable extends Error {
  override name = "ReplayStoreUnavailable";
}

export type ReplayGuard = {
  /** The reservation held for `key`, if any. */
  peek(key: ReservationKey, nowSeconds: bigint): Promise<Reservation | undefined>;
  /** Takes the reservation for `payment`, or returns the one already held. */
  reserve(key: ReservationKey, expiresAtSeconds: bigint, nowSeconds: bigint, payment: string): Promise<{ ok: true } | { ok: false; held: Reservation }>;
  /** Claims `payment`'s unknown (or orphaned) outcome to resolve it: moves it to "resolving"; false when someone else did first. */
  claim(key: ReservationKey, payment: string, nowSeconds: bigint): Promise<boolean>;
  /**
   * Moves the reservation to `to` only if it is in `from`; false when someone else moved it first;
   * "kept" when the store could not be asked and the move waits to be made (see Recorded).
   */
  transition(key: ReservationKey, from: ReservationState, to: ReservationState, transaction?: string): Promise<boolean | "kept">;
  mark(key: ReservationKey, state: ReservationState, transaction?: string): Promise<Recorded>;
  release(key: ReservationKey): Promise<void>;
  /** Stops background work (a shared store's heartbeat and connection); reservations stay. */
  close?(): Promise<void>;
};

/** Whether `r` no longer holds anything at `now`: done and in-flight holds end at expiry, doubtful ones an hour later. */
export function lapsed(r: Reservation, now: bigint): boolean {
  const doubtful = r.state === "unknown" || r.state === "resolving" || r.orphaned === true;
  return (doubtful ? r.expires + UNKNOWN_KEPT_SECONDS : r.expires) < now;
}

/** In-process: one verifier replica (a fleet shares a Valkey/Redis store instead). Nothing here is ever orphaned: it dies with its holder. */
export function memoryReplayGuard(): ReplayGuard & { readonly size: number } {
  const held = new Map<ReservationKey, Reservation>();
  let nextSweep = 0n;
  const sweep = (now: bigint) => {
    for (const [key, r] of held) if (lapsed(r, now)) held.delete(key);
    nextSweep = now + 30n;
  };
  const current = (key: ReservationKey, now: bigint) => {
    const existing = held.get(key);
    return existing && !lapsed(existing, now) ? existing : undefined;
  };
  const transition = (key: ReservationKey, from: ReservationState, to: ReservationState, transaction?: string) => {
    const existing = held.get(key);
    if (existing?.state !== from) return false;
    held.set(key, { ...existing, state: to, transaction: transaction ?? existing.transaction });
    return true;
  };
  return {
    peek: async (key, now) => current(key, now),
    async reserve(key, expires, now, payment) {
      if (now >= nextSweep) sweep(now);
      const existing = current(key, now);
      if (existing) return { ok: false, held: existing };
      held.set(key, { state: "in-flight", expires, payment });
      return { ok: true };
    },
    async claim(key, payment, now) {
      return current(key, now)?.payment === payment && transition(key, "unknown", "resolving");
    },
    transition: async (key, from, to, transaction) => transition(key, from, to, transaction),
    async mark(key, state, transaction) {
      const existing = held.get(key);
      if (!existing) return "not-ours";
      held.set(key, { ...existing, state, transaction: transaction ?? existing.transaction });
      return "recorded";
    },
    async release(key) {
      held.delete(key);
    },
    get size() {
      return held.size;
    },
  };
}
