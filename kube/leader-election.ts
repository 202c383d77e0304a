// Leader election on a coordination.k8s.io/v1 Lease, the way client-go does it: only the
// holder works; a standby takes over once the lease has gone unrenewed for its duration,
// as measured on our own clock (never the record's, which another machine wrote); every
// write carries the resourceVersion we read, so racing candidates get 409 and lose.
import type { Clock } from "../adapters/clock.ts";
import type { Logger } from "../adapters/log.ts";

export type LeaseSpec = {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
};
export type Lease = { metadata: { name: string; namespace: string; resourceVersion?: string }; spec: LeaseSpec };

/** The three calls election needs; `undefined` from get means no Lease yet. Conflicts throw. */
export type LeaseStore = {
  get(): Promise<Lease | undefined>;
  create(spec: LeaseSpec): Promise<Lease>;
  update(lease: Lease): Promise<Lease>;
};

export type ElectionOptions = {
  identity: string;
  store: LeaseStore;
  clock: Clock;
  log: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  random?: () => number;
};

export type Election = {
  /** Resolves when we hold the lease (or never, if stopped first). */
  acquired: Promise<void>;
  /** Resolves when we lost or released the lease. */
  lost: Promise<void>;
  isLeader(): boolean;
  /** Stop competing; release the lease if we hold it. */
  stop(): Promise<void>;
};

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function startElection(options: ElectionOptions): Election {
  const { identity, store, clock, log } = options;
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  const random = options.random ?? Math.random;
  let leader = false;
  let stopped = false;
  let observed: { record: string; at: number } | undefined;
  let lastRenew = 0;
  let current: Lease | undefined;
  let cancelTimer: (() => void) | undefined;
  let onAcquired!: () => void;
  let onLost!: () => void;
  const acquired = new Promise<void>((r) => (onAcquired = r));
  const lost = new Promise<void>((r) => (onLost = r));

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = clock.now();
    const existing = await store.get();
    const mine: LeaseSpec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000), renewTime: microTime(now) };
    if (!existing) {
      current = await store.create({ ...mine, acquireTime: microTime(now), leaseTransitions: 0 });
      return true;
    }
    const record = JSON.stringify(existing.spec);
    if (observed?.record !== record) observed = { record, at: now };
    const holder = existing.spec.holderIdentity ?? "";
    const duration = (existing.spec.leaseDurationSeconds ?? leaseDurationMs / 1000) * 1000;
    if (holder !== "" && holder !== identity && observed.at + duration > now) return false;
    const transitions = existing.spec.leaseTransitions ?? 0;
    current = await store.update({
      metadata: existing.metadata,
      spec: holder === identity
        ? { ...existing.spec, ...mine }
        : { ...mine, acquireTime: microTime(now), leaseTransitions: transitions + 1 },
    });
    observed = { record: JSON.stringify(current.spec), at: now };
    return true;
  };

  /** The last attempt, which never rejects: stop() waits for one under way before releasing. */
  let inFlight: Promise<boolean> | undefined;
  const attempt = (): Promise<boolean> => (inFlight = (async () => {
    try {
      return await tryAcquireOrRenew();
    } catch (error) {
      log.warn("lease attempt failed", { identity, error: (error as Error).message });
      return false;
    }
  })());

  const schedule = (fn: () => Promise<void>, ms: number) => {
    cancelTimer = clock.setTimeout(() => void fn(), ms);
  };
  const jittered = (ms: number) => ms * (1 + random() * 0.2);

  const acquireLoop = async () => {
    if (stopped) return;
    if (await attempt()) {
      if (stopped) return;
      leader = true;
      lastRenew = clock.now();
      log.info("became leader", { identity });
      onAcquired();
      schedule(renewLoop, retryPeriodMs);
      return;
    }
    schedule(acquireLoop, jittered(retryPeriodMs));
  };

  const renewLoop = async () => {
    if (stopped || !leader) return;
    if (await attempt()) lastRenew = clock.now();
    if (clock.now() - lastRenew >= renewDeadlineMs) {
      leader = false;
      log.error("lost leadership: could not renew the lease in time", { identity, renewDeadlineMs });
      onLost();
      return;
    }
    schedule(renewLoop, retryPeriodMs);
  };

  void acquireLoop();

  return {
    acquired,
    lost,
    isLeader: () => leader,
    async stop() {
      stopped = true;
      cancelTimer?.();
      // An attempt under way may be renewing or taking the lease right now: let it end first,
      // so the release is the last write (with the resourceVersion it produced), not a
      // conflict that leaves a standby waiting out the lease duration.
      const tookIt = await inFlight;
      if ((leader || tookIt) && current) {
        leader = false;
        try {
          // Release: an empty holder lets a standby take over at once instead of after the lease duration.
          await store.update({ metadata: current.metadata, spec: { ...current.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(clock.now()) } });
          log.info("released the lease", { identity });
        } catch (error) {
          log.warn("could not release the lease", { identity, error: (error as Error).message });
        }
      }
      onLost();
    },
  };
}
