// The controller's Prometheus series.
import { createRegistry, LATENCY_BUCKETS, type Registry } from "../adapters/metrics.ts";

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;

export function controllerMetrics(registry: Registry = createRegistry()) {
  const reconciles = registry.counter("x402_controller_reconciles_total", "Reconciles, by result.");
  const duration = registry.histogram("x402_controller_reconcile_duration_seconds", "Time to reconcile one offer.", LATENCY_BUCKETS);
  const writes = registry.counter("x402_controller_writes_total", "Writes to the API server, by kind and verb.");
  const depth = registry.gauge("x402_controller_queue_depth", "Keys waiting in the work queue.");
  const leader = registry.gauge("x402_controller_leader", "1 while this replica holds the lease.");
  const registryTransactions = registry.counter("x402_controller_registry_transactions_total", "Transactions sent to ERC-8004 Identity Registries, by kind (register, uri, metadata).");
  return {
    registry,
    reconciled: (result: "ok" | "error", seconds: number) => (reconciles.inc({ result }), duration.observe(seconds)),
    wrote: (kind: string, verb: string) => writes.inc({ kind, verb }),
    queueDepth: (value: number) => depth.set(value),
    leader: (isLeader: boolean) => leader.set(isLeader ? 1 : 0),
    registryTransaction: (kind: string) => registryTransactions.inc({ kind }),
  };
}
