// Probes shared by the offers in front of one upstream (see sharedProber).
import type { Prober } from "./health-probe.ts";

/**
 * Offers that share an upstream share its probes: one probe of a target at a time, and an
 * answer younger than maxAgeMs (counted from when its probe started) is handed to every
 * offer that asks. Without this, N offers in front of one Service cost the API server 2N
 * reads (the Service and its EndpointSlices) every probe interval: with 300 offers and a
 * 1 s interval they were 85% of its request time and slowed every write.
 */
export function sharedProber(prober: Prober, now: () => number, maxAgeMs: number): Prober {
  const recent = new Map<string, { startedAt: number; answer: ReturnType<Prober> }>();
  let sweptAt = now();
  return (target) => {
    const started = now();
    if (started - sweptAt >= maxAgeMs) {
      for (const [key, entry] of recent) if (started - entry.startedAt >= maxAgeMs) recent.delete(key);
      sweptAt = started;
    }
    const key = JSON.stringify([target.namespace, target.service, target.port, target.healthPath]);
    const hit = recent.get(key);
    if (hit && started - hit.startedAt < maxAgeMs) return hit.answer;
    const answer = prober(target);
    const entry = { startedAt: started, answer };
    recent.set(key, entry);
    // A failed probe (the API server away) is not shared: the next asker tries again.
    answer.catch(() => recent.get(key) === entry && recent.delete(key));
    return answer;
  };
}
