// Route lookup cost in-process: 10,000 routes against 10, our table against the
// first-match linear scan the Go version did, and the cost per byte of a long path against
// a short one (reading and looking up a path must stay linear in its length).
import { normalizePath } from "../verifier/routes/normalize-path.ts";
import { buildRouteTable, type RouteTable } from "../verifier/routes/table.ts";
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
  const perByte = longPathRatios(large, rounds);
  return [
    figure("path_cost_per_byte_8k_vs_512", "normalize + lookup time per byte, 8 KiB paths / 512-byte paths (10,000 routes)", "<= 2", perByte.ratios.map((x) => round(x)), { note: perByte.note }),
    figure("route_lookup_10k_vs_10", "lookup time, 10,000 routes / 10 routes", "<= 2", growth.map((x) => round(x)), { note: `last round: ${round(ns.small, 0)} ns vs ${round(ns.large, 0)} ns` }),
    figure("route_lookup_linear_vs_ours_10k", "first-match linear scan / our lookup, 10,000 routes", ">= 20", versusLinear.map((x) => round(x, 0)), { note: `last round: linear ${round(ns.linear / 1000, 1)} µs` }),
  ];
}

/** Paths of many short segments under a priced prefix: the shape that made the old lookup quadratic. */
function longPaths(bytes: number): string[] {
  return Array.from({ length: 64 }, (_, i) => {
    const head = `/services/offer-${(i * 7919) % 10_000}/`;
    return (head + "ab/".repeat(Math.ceil(bytes / 3))).slice(0, bytes);
  });
}

function longPathRatios(routes: RouteTable<number>, rounds: number) {
  const decide = (path: string) => {
    const normalized = normalizePath(path);
    return normalized.ok ? routes.lookup(normalized.path) : undefined;
  };
  const short = longPaths(512);
  const long = longPaths(8192);
  const nsPerByte = (sample: string[], count: number) => {
    let found = 0;
    const started = performance.now();
    for (let i = 0; i < count; i++) if (decide(sample[i & 63]!) !== undefined) found++;
    if (found !== count) throw new Error(`only ${found} of ${count} long paths matched`);
    return ((performance.now() - started) * 1e6) / count / sample[0]!.length;
  };
  nsPerByte(short, 20_000);
  nsPerByte(long, 2_000);
  const ratios: number[] = [];
  let last = { short: 0, long: 0 };
  for (let i = 0; i < rounds; i++) {
    last = { short: nsPerByte(short, 40_000), long: nsPerByte(long, 4_000) };
    ratios.push(last.long / last.short);
  }
  return { ratios, note: `last round: ${round(last.short, 2)} ns/byte at 512 B, ${round(last.long, 2)} ns/byte at 8 KiB (${round((last.long * 8192) / 1000, 0)} µs per 8 KiB path)` };
}
