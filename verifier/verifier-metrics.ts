// The verifier's Prometheus series, labelled by route pattern and owning offer.
import { createRegistry, LATENCY_BUCKETS, type Registry } from "../adapters/http/metrics.ts";
import type { PricedRoute } from "./priced-route.ts";

export type VerifierMetrics = ReturnType<typeof verifierMetrics>;

export function verifierMetrics(registry: Registry = createRegistry()) {
  const requests = registry.counter("x402_verifier_requests_total", "ForwardAuth requests, by answer status.");
  const required = registry.counter("x402_verifier_payment_required_total", "402 answers asking for payment.");
  const verified = registry.counter("x402_verifier_payments_verified_total", "Payments whose signature and funds checked out.");
  const settled = registry.counter("x402_verifier_payments_settled_total", "Payments settled on chain.");
  const refusedPayments = registry.counter("x402_verifier_payments_refused_total", "Payments refused, by reason.");
  const latency = registry.histogram("x402_verifier_request_duration_seconds", "Time to answer a ForwardAuth request.", LATENCY_BUCKETS);
  const routes = registry.gauge("x402_verifier_routes", "PaymentRoutes in the route table.");
  const labels = (route: PricedRoute | undefined) =>
    route ? { route: route.pattern, namespace: route.namespace, offer: route.offer } : { route: "", namespace: "", offer: "" };
  return {
    registry,
    answered(route: PricedRoute | undefined, status: number, seconds: number) {
      const l = labels(route);
      requests.inc({ ...l, status: String(status) });
      if (status === 402) required.inc(l);
      latency.observe(seconds, l);
    },
    verified: (route: PricedRoute) => verified.inc(labels(route)),
    settled: (route: PricedRoute) => settled.inc(labels(route)),
    refused: (route: PricedRoute | undefined, reason: string) => refusedPayments.inc({ ...labels(route), reason }),
    routes: (count: number) => routes.set(count),
  };
}
