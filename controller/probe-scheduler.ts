// Keeps each offer's upstream observation fresh: probes at once when the target is new
// or changed (a spec change), then every interval; tells the controller only when what
// it knows changed, so an idle cluster stays idle.
import type { UpstreamObservation } from "../core/observed.ts";
import type { Clock } from "../adapters/clock.ts";
import type { Logger } from "../adapters/log.ts";
import type { ProbeTarget, Prober } from "./health-probe.ts";

export type ProbeScheduler = {
  /**
   * The target an offer wants probed. Resolves with the latest observation; a new target
   * waits for its first probe, so that a restarted controller never reports "not probed
   * yet" over a status that was right.
   */
  observe(key: string, target: ProbeTarget): Promise<UpstreamObservation>;
  /** The latest observation of the offer's target as last given, if one has completed. */
  latest(key: string): UpstreamObservation | undefined;
  forget(key: string): void;
  stop(): void;
};

type Entry = { target: string; observation?: UpstreamObservation; first: Promise<UpstreamObservation>; cancel?: () => void; generation: number };

export function startProbeScheduler(prober: Prober, clock: Clock, intervalMs: number, log: Logger, onChange: (key: string) => void): ProbeScheduler {
  const entries = new Map<string, Entry>();
  let stopped = false;

  const probe = async (key: string, target: ProbeTarget, generation: number): Promise<UpstreamObservation> => {
    let observation: UpstreamObservation;
    try {
      observation = await prober(target);
    } catch (error) {
      // Could not even look the Service up (API server away): keep what we knew and retry.
      log.warn("upstream probe failed", { offer: key, error: (error as Error).message });
      observation = entries.get(key)?.observation ?? { healthy: false, message: `probe failed: ${(error as Error).message}` };
    }
    const entry = entries.get(key);
    if (stopped || !entry || entry.generation !== generation) return observation;
    const before = entry.observation;
    entry.observation = observation;
    entry.cancel = clock.setTimeout(() => void probe(key, target, generation), intervalMs);
    if (before && (before.healthy !== observation.healthy || before.message !== observation.message)) onChange(key);
    return observation;
  };

  return {
    async observe(key, target) {
      const text = JSON.stringify(target);
      const entry = entries.get(key);
      if (entry?.target === text) return entry.observation ?? await entry.first;
      entry?.cancel?.();
      const generation = (entry?.generation ?? 0) + 1;
      const next: Entry = { target: text, generation, first: undefined as never };
      entries.set(key, next);
      next.first = probe(key, target, generation);
      return await next.first;
    },
    latest: (key) => entries.get(key)?.observation,
    forget(key) {
      entries.get(key)?.cancel?.();
      entries.delete(key);
    },
    stop() {
      stopped = true;
      for (const entry of entries.values()) entry.cancel?.();
    },
  };
}
