// From PaymentRoute objects to the table the verifier serves, with a verdict per route:
// admitted, or not and why. A malformed route is left out; it never takes the others down.
// A file is compiled whole; a watch keeps a live set current one object at a time.
import * as v from "valibot";
import { MAX_SPEC_DEPTH, nestingDepth } from "../../core/json-depth.ts";
import { formatFieldIssues } from "../../core/field-issues.ts";
import type { Network } from "../../core/networks.ts";
import { PaymentRouteSchema } from "../../core/payment-route.ts";
import { specIssues } from "../../core/unknown-fields.ts";
import { priceRoute, type PricedRoute } from "./priced-route.ts";
import type { UpstreamTrust } from "./upstream-target.ts";
import { canonicalPattern } from "./pattern.ts";
import { buildRouteTable, liveRouteTable, type RouteTable } from "./table.ts";

export type Admission = { key: string; generation?: number; admitted: boolean; reason: string; message: string };

export type RouteSet = {
  table: RouteTable<PricedRoute>;
  readonly admissions: Admission[];
  /** The route the PaymentRoute `key` ("namespace/name") serves, if it is admitted. */
  served(key: string): PricedRoute | undefined;
};

/** A route set changed in place, one object at a time, by a source that hears of each change. */
export type LiveRouteSet = RouteSet & {
  /**
   * Records an object's latest verdict, or (undefined) that it is gone. Returns the keys
   * whose admission this may have changed: the object's own, and any rival for its pattern.
   */
  put(key: string, verdict: Evaluated | undefined): string[];
  /** The admission of the object recorded under `key`, as it stands now. */
  admission(key: string): Admission | undefined;
};

export type Candidate = { route: PricedRoute; created: string; generation?: number };
export type Evaluated = { candidate: Candidate } | { admission: Admission };

/** One object's verdict on its own: a route ready to serve, or the reason it is not admitted. */
export function evaluateRoute(object: unknown, networks: readonly Network[], trust: UpstreamTrust = "file"): Evaluated {
  const meta = (object as { metadata?: { name?: string; namespace?: string; generation?: number; creationTimestamp?: string } }).metadata ?? {};
  const key = `${meta.namespace ?? "default"}/${meta.name ?? "?"}`;
  const refuse = (message: string): Evaluated => ({ admission: { key, generation: meta.generation, admitted: false, reason: "InvalidSpec", message } });
  // Measured before any recursive walk can overflow on it: one route must never take the table down.
  if (nestingDepth((object as { spec?: unknown }).spec) > MAX_SPEC_DEPTH) return refuse(`spec: nests deeper than ${MAX_SPEC_DEPTH} levels (or holds too many values)`);
  try {
    return evaluateParsed(object, networks, trust, key, meta, refuse);
  } catch (error) {
    return refuse(`spec: cannot be read (${String(error).slice(0, 200)})`);
  }
}

function evaluateParsed(
  object: unknown,
  networks: readonly Network[],
  trust: UpstreamTrust,
  key: string,
  meta: { generation?: number; creationTimestamp?: string },
  refuse: (message: string) => Evaluated,
): Evaluated {
  const parsed = v.safeParse(PaymentRouteSchema, object);
  if (!parsed.success) return refuse(formatFieldIssues(specIssues(PaymentRouteSchema, object, parsed.issues, "")));
  const priced = priceRoute(parsed.output, networks, trust);
  if (!priced.ok) return refuse(`${priced.issue.field}: ${priced.issue.message}`);
  return { candidate: { route: priced.route, created: meta.creationTimestamp ?? "", generation: meta.generation } };
}

/** The table from every object's verdict; contested patterns are settled here, the same way every time. */
export function assembleRoutes(evaluated: readonly Evaluated[]): RouteSet {
  const admissions: Admission[] = [];
  const candidates: Candidate[] = [];
  for (const e of evaluated) {
    if ("admission" in e) admissions.push(e.admission);
    else candidates.push(e.candidate);
  }
  candidates.sort(olderFirst);
  const table = buildRouteTable(candidates.map((c) => ({ pattern: c.route.pattern, value: c.route })));
  const losers = new Map(table.conflicts.map((c) => [c.value, c.winner]));
  for (const candidate of candidates) admissions.push(verdictOn(candidate, losers.get(candidate.route)));
  const servedByKey = new Map(candidates.filter((c) => !losers.has(c.route)).map((c) => [c.route.key, c.route]));
  return { table, admissions, served: (key) => servedByKey.get(key) };
}

/** The same verdicts as `assembleRoutes` on the same objects, without rebuilding anything on a change. */
export function liveRouteSet(): LiveRouteSet {
  const verdicts = new Map<string, Evaluated>();
  const candidates = new Map<PricedRoute, Candidate & { owner: string }>();
  const table = liveRouteTable<PricedRoute>((a, b) => olderFirst(candidates.get(a)!, candidates.get(b)!));
  /** When a pattern's holder changes, every claimant's verdict names the new one; else only the changed object's moves. */
  const rivals = (pattern: string, into: Set<string>) => {
    for (const route of table.claimants(pattern)) into.add(candidates.get(route)!.owner);
  };
  const holderOf = (route: PricedRoute) => table.holder(route.pattern)!;
  const admission = (key: string): Admission | undefined => {
    const verdict = verdicts.get(key);
    if (!verdict || "admission" in verdict) return verdict?.admission;
    const holder = holderOf(verdict.candidate.route);
    return verdictOn(verdict.candidate, holder === verdict.candidate.route ? undefined : holder);
  };
  return {
    table,
    get admissions() {
      return [...verdicts.keys()].map((key) => admission(key)!);
    },
    admission,
    served(key) {
      const verdict = verdicts.get(key);
      if (!verdict || "admission" in verdict) return undefined;
      const { route } = verdict.candidate;
      return holderOf(route) === route ? route : undefined;
    },
    put(key, verdict) {
      const touched = new Set([key]);
      const before = verdicts.get(key);
      if (before && "candidate" in before) {
        const { route } = before.candidate;
        const holder = table.holder(route.pattern);
        table.release(route.pattern, route);
        candidates.delete(route);
        if (table.holder(route.pattern) !== holder) rivals(route.pattern, touched);
      }
      if (verdict) verdicts.set(key, verdict);
      else verdicts.delete(key);
      if (verdict && "candidate" in verdict) {
        const { route } = verdict.candidate;
        const holder = table.holder(route.pattern);
        candidates.set(route, { ...verdict.candidate, owner: key });
        table.claim(route.pattern, route);
        if (holder !== undefined && table.holder(route.pattern) !== holder) rivals(route.pattern, touched);
      }
      return [...touched];
    },
  };
}

/** The older route keeps a contested pattern; ties go by name. */
function olderFirst(a: Candidate, b: Candidate): number {
  return a.created.localeCompare(b.created) || a.route.key.localeCompare(b.route.key);
}

function verdictOn({ route, generation }: Candidate, winner: PricedRoute | undefined): Admission {
  const canonical = canonicalPattern(route.pattern);
  const spelled = canonical === route.pattern ? route.pattern : `${route.pattern} (the same paths as ${canonical})`;
  return winner
    ? { key: route.key, generation, admitted: false, reason: "PatternConflict", message: `pattern ${spelled} is already served by PaymentRoute ${winner.key}` }
    : { key: route.key, generation, admitted: true, reason: "Admitted", message: `charging ${route.accepts.map(terms).join(", or ")}` };
}

function terms({ amount, asset, network }: PricedRoute["accepts"][number]): string {
  return `${amount} atomic units of ${asset.symbol} on ${network.name}`;
}

export function compileRoutes(objects: readonly unknown[], networks: readonly Network[]): RouteSet {
  return assembleRoutes(objects.map((o) => evaluateRoute(o, networks)));
}
