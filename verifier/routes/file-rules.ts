// The routes file's rules without I/O or a clock: what a file's text holds, and which
// routes to serve given the last good ones. file-source.ts says why the rules are these.
import { parseAllDocuments } from "yaml";
import type { Network } from "../../core/networks.ts";
import { PAYMENT_ROUTE_API_VERSION, PAYMENT_ROUTE_KIND } from "../../core/payment-route.ts";
import { type Admission, type Candidate, type Evaluated, evaluateRoute } from "./set.ts";

export const PAYMENT_ROUTE_LIST_KIND = "PaymentRouteList";

/** The PaymentRoutes of a file, each with where it stands ("document 2", "document 1, item 3"). */
export type RouteDocuments = { documents: number; routes: { at: string; object: object }[] };

/** The file's routes, or the first thing that makes the whole file unusable. */
export function readRouteDocuments(text: string): RouteDocuments | { error: string } {
  const routes: RouteDocuments["routes"] = [];
  let documents = 0;
  for (const [index, doc] of parseAllDocuments(text).entries()) {
    const at = `document ${index + 1}`;
    const error = doc.errors[0];
    if (error) return { error: `${at}: ${firstLine(error.message)}` };
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (error) {
      return { error: `${at}: ${firstLine((error as Error).message)}` };
    }
    // Comments, or nothing between two "---".
    if (value === null || value === undefined) continue;
    documents++;
    if (isKind(value, PAYMENT_ROUTE_KIND)) {
      routes.push({ at, object: value });
      continue;
    }
    const items = isKind(value, PAYMENT_ROUTE_LIST_KIND) ? (value as { items?: unknown }).items : undefined;
    if (!Array.isArray(items)) return { error: `${at}: ${expected(value, `a ${PAYMENT_ROUTE_KIND}, or a ${PAYMENT_ROUTE_LIST_KIND} with items`)}` };
    for (const [i, item] of items.entries()) {
      if (!isKind(item, PAYMENT_ROUTE_KIND)) return { error: `${at}, item ${i + 1}: ${expected(item, `a ${PAYMENT_ROUTE_KIND}`)}` };
      routes.push({ at: `${at}, item ${i + 1}`, object: item });
    }
  }
  return { documents, routes };
}

/** Each route's verdict by "namespace/name". A name given twice is an invalid route: which copy is meant is a guess. */
export function evaluateRoutes(routes: RouteDocuments["routes"], networks: readonly Network[]): Map<string, Evaluated> {
  const verdicts = new Map<string, Evaluated>();
  const firstAt = new Map<string, string>();
  for (const { at, object } of routes) {
    const verdict = evaluateRoute(object, networks);
    const key = keyOf(verdict);
    const first = firstAt.get(key);
    if (first === undefined) firstAt.set(key, at);
    verdicts.set(key, first === undefined ? verdict : { admission: { key, admitted: false, reason: "InvalidSpec", message: `defined more than once (${first} and ${at})` } });
  }
  return verdicts;
}

export type NextRoutes = {
  /** What to serve now, and the next call's `last`. */
  serving: Map<string, Candidate>;
  /** Invalid routes with no last good version: not served. */
  refused: Admission[];
  /** Invalid routes whose last good version is served instead. */
  kept: Admission[];
  /** Keys served last but absent from the file: still served, or (removeAbsent) removed. */
  absent: string[];
};

/** The routes to serve: the file's valid ones, the last good version of each invalid one, and (until removeAbsent) those the file left out. */
export function nextRoutes(last: ReadonlyMap<string, Candidate>, file: ReadonlyMap<string, Evaluated>, removeAbsent: boolean): NextRoutes {
  const next: NextRoutes = { serving: new Map(), refused: [], kept: [], absent: [] };
  for (const [key, verdict] of file) {
    const previous = last.get(key);
    if ("candidate" in verdict) next.serving.set(key, verdict.candidate);
    else if (previous) next.serving.set(key, previous), next.kept.push(verdict.admission);
    else next.refused.push(verdict.admission);
  }
  for (const [key, candidate] of last) {
    if (file.has(key)) continue;
    next.absent.push(key);
    if (!removeAbsent) next.serving.set(key, candidate);
  }
  return next;
}

function keyOf(verdict: Evaluated): string {
  return "candidate" in verdict ? verdict.candidate.route.key : verdict.admission.key;
}

function isKind(value: unknown, kind: string): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && (value as Record<string, unknown>).apiVersion === PAYMENT_ROUTE_API_VERSION && (value as Record<string, unknown>).kind === kind;
}

function expected(value: unknown, what: string): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `expected ${what}, found ${Array.isArray(value) ? "a list" : shown(value)}`;
  const { apiVersion, kind } = value as Record<string, unknown>;
  return `expected ${what} (apiVersion ${PAYMENT_ROUTE_API_VERSION}), found apiVersion ${shown(apiVersion)}, kind ${shown(kind)}`;
}

function shown(value: unknown): string {
  return value === undefined ? "none" : JSON.stringify(value).slice(0, 60);
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/:$/, "");
}
