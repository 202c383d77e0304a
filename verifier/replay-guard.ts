// Each authorization pays once. A reservation on (chain, token, payer, nonce) is taken
// before verifying and held until the authorization expires: a second use, concurrent or
// later, is refused even when we only verify and never settle. A definite failure frees
// it for an honest retry; an unknown settlement outcome keeps it, marked so that a retry
// of the same payment can learn what happened instead of being asked to pay again.
// Whoever moves a reservation out of a state owns the next step (`transition` is a
// compare-and-set), so ten concurrent retries of one payment resolve it once.

export type ReservationKey = string;
/**
 * in-flight: being verified or settled; unknown: settlement sent, outcome not known;
 * resolving: a retry is finding out what happened; done: paid and served.
 */
export type ReservationState = "in-flight" | "unknown" | "resolving" | "done";
/** `payment` names the exact authorization and route held (see paymentDigest): only that one may resume an unknown outcome. */
export type Reservation = { state: ReservationState; expires: bigint; payment: string; transaction?: string };

/** An unknown outcome is remembered this long past the authorization's expiry, so a late retry can still be resolved. */
export const UNKNOWN_KEPT_SECONDS = 3600n;

export function reservationKey(chainId: number, token: string, from: string, nonce: string): ReservationKey {
  return `${chainId}:${token.toLowerCase()}:${from.toLowerCase()}:${nonce.toLowerCase()}`;
}

export type ReplayGuard = {
  /** The reservation held for `key`, if any. */
  peek(key: ReservationKey, nowSeconds: bigint): Reservation | undefined;
  /** Takes the reservation for `payment`, or returns the one already held. */
  reserve(key: ReservationKey, expiresAtSeconds: bigint, nowSeconds: bigint, payment: string): { ok: true } | { ok: false; held: Reservation };
  /** Moves the reservation to `to` only if it is in `from`; false when someone else moved it first. */
  transition(key: ReservationKey, from: ReservationState, to: ReservationState, transaction?: string): boolean;
  mark(key: ReservationKey, state: ReservationState, transaction?: string): void;
  release(key: ReservationKey): void;
  readonly size: number;
};

/** In-process: one verifier replica. Several replicas settle safely (the token refuses a used nonce), but verify-only mode needs one replica. */
export function memoryReplayGuard(): ReplayGuard {
  const held = new Map<ReservationKey, Reservation>();
  let nextSweep = 0n;
  const lapsed = (r: Reservation, now: bigint) => (r.state === "unknown" || r.state === "resolving" ? r.expires + UNKNOWN_KEPT_SECONDS : r.expires) < now;
  const sweep = (now: bigint) => {
    for (const [key, r] of held) if (lapsed(r, now)) held.delete(key);
    nextSweep = now + 30n;
  };
  const current = (key: ReservationKey, now: bigint) => {
    const existing = held.get(key);
    return existing && !lapsed(existing, now) ? existing : undefined;
  };
  return {
    peek: current,
    reserve(key, expires, now, payment) {
      if (now >= nextSweep) sweep(now);
      const existing = current(key, now);
      if (existing) return { ok: false, held: existing };
      held.set(key, { state: "in-flight", expires, payment });
      return { ok: true };
    },
    transition(key, from, to, transaction) {
      const existing = held.get(key);
      if (existing?.state !== from) return false;
      held.set(key, { ...existing, state: to, transaction: transaction ?? existing.transaction });
      return true;
    },
    mark(key, state, transaction) {
      const existing = held.get(key);
      if (existing) held.set(key, { ...existing, state, transaction: transaction ?? existing.transaction });
    },
    release(key) {
      held.delete(key);
    },
    get size() {
      return held.size;
    },
  };
}
