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

type Candidate = { route: PricedRoute; created: string; generation?: number };

export function compileRoutes(objects: readonly unknown[], networks: readonly Network[]): RouteSet {
  const admissions: Admission[] = [];
  const candidates: Candidate[] = [];
  for (const object of objects) {
    const meta = (object as { metadata?: { name?: string; namespace?: string; generation?: number; creationTimestamp?: string } }).metadata ?? {};
    const key = `${meta.namespace ?? "default"}/${meta.name ?? "?"}`;
    const parsed = v.safeParse(PaymentRouteSchema, object);
    if (!parsed.success) {
      admissions.push({ key, generation: meta.generation, admitted: false, reason: "InvalidSpec", message: formatFieldIssues(toFieldIssues("", parsed.issues)).replace(/^\./, "").replaceAll("; .", "; ") });
      continue;
    }
    const priced = priceRoute(parsed.output, networks);
    if (isPricingError(priced)) {
      admissions.push({ key, generation: meta.generation, admitted: false, reason: "InvalidSpec", message: `${priced.field}: ${priced.message}` });
      continue;
    }
    candidates.push({ route: priced, created: meta.creationTimestamp ?? "", generation: meta.generation });
  }
  // The older route keeps a contested pattern; ties go by name. Same input, same winner.
  candidates.sort((a, b) => a.created.localeCompare(b.created) || a.route.key.localeCompare(b.route.key));
  const built = buildRouteTable(candidates.map((c) => ({ pattern: c.route.pattern, value: c })));
  const losers = new Map(built.conflicts.map((c) => [c.value, c.winner]));
  for (const candidate of candidates) {
    const winner = losers.get(candidate);
    admissions.push(winner
      ? { key: candidate.route.key, generation: candidate.generation, admitted: false, reason: "PatternConflict", message: `pattern ${candidate.route.pattern} is already served by PaymentRoute ${winner.route.key}` }
      : { key: candidate.route.key, generation: candidate.generation, admitted: true, reason: "Admitted", message: `charging ${candidate.route.amount} atomic units on ${candidate.route.network.name}` });
  }
  const table = buildRouteTable(candidates.filter((c) => !losers.has(c)).map((c) => ({ pattern: c.route.pattern, value: c.route })));
  return { table, admissions };
}
