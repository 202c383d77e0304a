// The verifier's Prometheus series, labelled by route pattern and owning offer. Each
// route's series are bound once (and forgotten with the route), so counting a request
// costs a few additions, not label formatting: /verify runs for every request.
import { type BoundCounter, type BoundHistogram, createRegistry, LATENCY_BUCKETS, type Registry } from "../adapters/metrics.ts";
import type { PricedAccept, PricedRoute } from "./routes/priced-route.ts";
import { metricReason } from "./x402/reasons.ts";

export type VerifierMetrics = ReturnType<typeof verifierMetrics>;

type RouteSeries = { byStatus: Map<number, BoundCounter>; required: BoundCounter; latency: BoundHistogram };
type RevenueSeries = { atomic: BoundCounter; tokens: BoundCounter };

export function verifierMetrics(registry: Registry = createRegistry()) {
  const requests = registry.counter("x402_verifier_requests_total", "ForwardAuth requests, by answer status.");
  const required = registry.counter("x402_verifier_payment_required_total", "402 answers asking for payment.");
  const verified = registry.counter("x402_verifier_payments_verified_total", "Payments whose signature and funds checked out.");
  const settled = registry.counter("x402_verifier_payments_settled_total", "Payments settled on chain.");
  const refusedPayments = registry.counter("x402_verifier_payments_refused_total", "Payments refused, by reason.");
  const latency = registry.histogram("x402_verifier_request_duration_seconds", "Time to answer a ForwardAuth request.", LATENCY_BUCKETS);
  const routes = registry.gauge("x402_verifier_routes", "PaymentRoutes in the route table.");
  const storeUp = registry.gauge("x402_verifier_replay_store_up", "1 while the shared replay store (--replay-store) is connected, 0 while paid requests answer 503 for want of it.");
  // Revenue under the labels obol-stack's dashboards use. Counters, not gauges: they only grow,
  // and increase() over them survives a restart. Atomic units are exact up to 2^53 per series.
  const revenueAtomic = registry.counter("x402_verifier_revenue_atomic_total", "Settled amounts in the asset's atomic units.");
  const revenue = registry.counter("x402_verifier_revenue_total", "Settled amounts in whole tokens (atomic units / 10^decimals).");
  const revenueLabels = (route: PricedRoute, accept: PricedAccept) =>
    ({ offer_namespace: route.namespace, offer_name: route.offer, chain: accept.network.name, asset_symbol: accept.asset.symbol, asset: accept.asset.address });
  const labels = (route: PricedRoute | undefined) =>
    route ? { route: route.pattern, namespace: route.namespace, offer: route.offer } : { route: "", namespace: "", offer: "" };

  const seriesByRoute = new WeakMap<PricedRoute, RouteSeries>();
  const bind = (route: PricedRoute | undefined): RouteSeries => {
    const l = labels(route);
    return { byStatus: new Map(), required: required.labels(l), latency: latency.labels(l) };
  };
  // Accepts are made with their route and replaced with it: the series of a replaced one is found again by its labels.
  const revenueByAccept = new WeakMap<PricedAccept, RevenueSeries>();
  const revenueOf = (route: PricedRoute, accept: PricedAccept) => {
    let series = revenueByAccept.get(accept);
    if (!series) {
      const r = revenueLabels(route, accept);
      revenueByAccept.set(accept, series = { atomic: revenueAtomic.labels(r), tokens: revenue.labels(r) });
    }
    return series;
  };
  const unrouted = bind(undefined);
  const seriesOf = (route: PricedRoute | undefined) => {
    if (!route) return unrouted;
    let series = seriesByRoute.get(route);
    if (!series) seriesByRoute.set(route, series = bind(route));
    return series;
  };

  return {
    registry,
    answered(route: PricedRoute | undefined, status: number, seconds: number) {
      const series = seriesOf(route);
      let counter = series.byStatus.get(status);
      if (!counter) series.byStatus.set(status, counter = requests.labels({ ...labels(route), status: String(status) }));
      counter.inc();
      if (status === 402) series.required.inc();
      series.latency.observe(seconds);
    },
    verified: (route: PricedRoute) => verified.inc(labels(route)),
    /** A settlement of `accept`, the terms the buyer chose among the route's; `amount`: what a metered (upto) one charged. */
    settled(route: PricedRoute, accept: PricedAccept, amount: bigint = accept.amount) {
      settled.inc(labels(route));
      const revenue = revenueOf(route, accept);
      revenue.atomic.inc(Number(amount));
      revenue.tokens.inc(Number(amount) / 10 ** accept.asset.decimals);
    },
    /** The reason is counted under a fixed label set: a facilitator's free text never becomes a series. */
    refused: (route: PricedRoute | undefined, reason: string) => refusedPayments.inc({ ...labels(route), reason: metricReason(reason) }),
    routes: (count: number) => routes.set(count),
    replayStoreUp: (up: boolean) => storeUp.set(up ? 1 : 0),
  };
}
