// Route lookup cost in-process: 10,000 routes against 10, and our table against the
// first-match linear scan the Go version did.
import { buildRouteTable, type RouteTable } from "../verifier/route-table.ts";
import { figure, type Figure, round } from "./stats.ts";

const LOOKUPS = 1_000_000;

function paths(count: number): string[] {
  return Array.from({ length: 1024 }, (_, i) => `/services/offer-${(i * 7919) % count}/v1/chat/completions`);
}

function timeLookups(lookup: (path: string) => unknown, sample: string[], count = LOOKUPS): number {
  let found = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) if (lookup(sample[i & 1023]!) !== undefined) found++;
  const elapsed = performance.now() - started;
  if (found !== count) throw new Error(`only ${found} of ${count} lookups matched`);
  return (elapsed * 1e6) / count; // ns per lookup
}

function table(count: number): RouteTable<number> {
  return buildRouteTable(Array.from({ length: count }, (_, i) => ({ pattern: `/services/offer-${i}/*`, value: i })));
}

/** What a map iterated in order does: the first pattern whose prefix matches wins. */
function linearScan(count: number) {
  const prefixes = Array.from({ length: count }, (_, i) => ({ prefix: `/services/offer-${i}`, value: i }));
  return (path: string) => prefixes.find((p) => path === p.prefix || path.startsWith(`${p.prefix}/`))?.value;
}

export function routeLookupFigures(rounds: number): Figure[] {
  const small = table(10);
  const large = table(10_000);
  const linear = linearScan(10_000);
  const smallPaths = paths(10);
  const largePaths = paths(10_000);
  timeLookups((p) => small.lookup(p), smallPaths); // warm up both shapes
  timeLookups((p) => large.lookup(p), largePaths);
  const growth: number[] = [];
  const versusLinear: number[] = [];
  let ns = { small: 0, large: 0, linear: 0 };
  for (let i = 0; i < rounds; i++) {
    ns = {
      small: timeLookups((p) => small.lookup(p), smallPaths),
      large: timeLookups((p) => large.lookup(p), largePaths),
      linear: timeLookups(linear, largePaths, 2_000),
    };
    growth.push(ns.large / ns.small);
    versusLinear.push(ns.linear / ns.large);
  }
  return [
    figure("route_lookup_10k_vs_10", "lookup time, 10,000 routes / 10 routes", "<= 2", growth.map((x) => round(x)), { note: `last round: ${round(ns.small, 0)} ns vs ${round(ns.large, 0)} ns` }),
    figure("route_lookup_linear_vs_ours_10k", "first-match linear scan / our lookup, 10,000 routes", ">= 20", versusLinear.map((x) => round(x, 0)), { note: `last round: linear ${round(ns.linear / 1000, 1)} µs` }),
  ];
}
