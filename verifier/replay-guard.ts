// Each authorization pays once. A reservation on (chain, token, payer, nonce) is taken
// before verifying and held until the authorization expires: a second use, concurrent or
// later, is refused even when we only verify and never settle. A definite failure frees
// it for an honest retry; an unknown settlement outcome keeps it.

export type ReservationKey = string;

export function reservationKey(chainId: number, token: string, from: string, nonce: string): ReservationKey {
  return `${chainId}:${token.toLowerCase()}:${from.toLowerCase()}:${nonce.toLowerCase()}`;
}

export type ReplayGuard = {
  /** False when the key is already held. */
  reserve(key: ReservationKey, expiresAtSeconds: bigint, nowSeconds: bigint): boolean;
  release(key: ReservationKey): void;
  readonly size: number;
};

/** In-process: one verifier replica. Several replicas settle safely (the token refuses a used nonce), but verify-only mode needs one replica. */
export function memoryReplayGuard(): ReplayGuard {
  const held = new Map<ReservationKey, bigint>();
  let nextSweep = 0n;
  const sweep = (now: bigint) => {
    for (const [key, expires] of held) if (expires < now) held.delete(key);
    nextSweep = now + 30n;
  };
  return {
    reserve(key, expiresAt, now) {
      if (now >= nextSweep) sweep(now);
      const expires = held.get(key);
      if (expires !== undefined && expires >= now) return false;
      held.set(key, expiresAt);
      return true;
    },
    release(key) {
      held.delete(key);
    },
    get size() {
      return held.size;
    },
  };
}
