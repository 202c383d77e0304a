// From PaymentRoute objects to the table the verifier serves, with a verdict per route:
// admitted, or not and why. A malformed route is left out; it never takes the others down.
import * as v from "valibot";
import { formatFieldIssues, toFieldIssues } from "../core/field-issues.ts";
import type { Network } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import { isPricingError, priceRoute, type PricedRoute } from "./priced-route.ts";
import { buildRouteTable, type RouteTable } from "./route-table.ts";

export type Admission = { key: string; generation?: number; admitted: boolean; reason: string; message: string };

export type RouteSet = { table: RouteTable<PricedRoute>; admissions: Admission[] };

export type Candidate = { route: PricedRoute; created: string; generation?: number };
export type Evaluated = { candidate: Candidate } | { admission: Admission };

/** One object's verdict on its own: a route ready to serve, or the reason it is not admitted. */
export function evaluateRoute(object: unknown, networks: readonly Network[]): Evaluated {
  const meta = (object as { metadata?: { name?: string; namespace?: string; generation?: number; creationTimestamp?: string } }).metadata ?? {};
  const key = `${meta.namespace ?? "default"}/${meta.name ?? "?"}`;
  const refuse = (message: string): Evaluated => ({ admission: { key, generation: meta.generation, admitted: false, reason: "InvalidSpec", message } });
  const parsed = v.safeParse(PaymentRouteSchema, object);
  if (!parsed.success) return refuse(formatFieldIssues(toFieldIssues("", parsed.issues)).replace(/^\./, "").replaceAll("; .", "; "));
  const priced = priceRoute(parsed.output, networks);
  if (isPricingError(priced)) return refuse(`${priced.field}: ${priced.message}`);
  return { candidate: { route: priced, created: meta.creationTimestamp ?? "", generation: meta.generation } };
}

/** The table from every object's verdict; contested patterns are settled here, the same way every time. */
export function assembleRoutes(evaluated: readonly Evaluated[]): RouteSet {
  const admissions: Admission[] = [];
  const candidates: Candidate[] = [];
  for (const e of evaluated) {
    if ("admission" in e) admissions.push(e.admission);
    else candidates.push(e.candidate);
  }
  // The older route keeps a contested pattern; ties go by name.
  candidates.sort((a, b) => a.created.localeCompare(b.created) || a.route.key.localeCompare(b.route.key));
  const table = buildRouteTable(candidates.map((c) => ({ pattern: c.route.pattern, value: c.route })));
  const losers = new Map(table.conflicts.map((c) => [c.value, c.winner]));
  for (const { route, generation } of candidates) {
    const winner = losers.get(route);
    admissions.push(winner
      ? { key: route.key, generation, admitted: false, reason: "PatternConflict", message: `pattern ${route.pattern} is already served by PaymentRoute ${winner.key}` }
      : { key: route.key, generation, admitted: true, reason: "Admitted", message: `charging ${route.amount} atomic units on ${route.network.name}` });
  }
  return { table, admissions };
}

export function compileRoutes(objects: readonly unknown[], networks: readonly Network[]): RouteSet {
  return assembleRoutes(objects.map((o) => evaluateRoute(o, networks)));
}
