// Routes from a file, for running without Kubernetes: a multi-document YAML of PaymentRoute
// objects (or PaymentRouteLists of them), re-read when it changes. A route the verifier
// does not know is free, so every way a file can be wrong keeps prices instead of dropping them:
//
// 1. A change is applied once the content has read the same on two consecutive polls: an
//    editor's truncate-then-write, or a copy in progress, is never served half written.
// 2. A file that does not parse completely (a YAML error in any document), or that holds a
//    document other than a PaymentRoute or PaymentRouteList of apiVersion obol.org/v1alpha1,
//    changes nothing: the last good table stays, and the error names the document.
// 3. A file with no documents (empty, blank, comments only) changes nothing either, and is
//    not a first load: an emptied file is far likelier an accident than a decision. Serving
//    no routes is said explicitly, with a PaymentRouteList whose items are [].
// 4. Routes are known by metadata namespace/name (namespace "default" when absent). A route
//    that is invalid (or named twice) in the new file keeps its last good version in service;
//    an invalid route that had none is not served.
// 5. A route that disappears from the file is still served until the file has stayed the same
//    for the removal grace period (3 s by default): a file cut short while being written
//    frees nothing. Additions and changes apply as soon as the file is stable (1).
// 6. Until a file has loaded, current() is undefined, and the verifier is not ready. A file
//    that is missing or unreadable keeps the last table.
// 7. A poll never throws: whatever goes wrong is logged and the last table stays.
import { readFileSync } from "node:fs";
import type { Logger } from "../../adapters/log.ts";
import type { Network } from "../../core/networks.ts";
import { assembleRoutes, type Candidate, type Evaluated, type RouteSet } from "./set.ts";
import { evaluateRoutes, type NextRoutes, nextRoutes, readRouteDocuments } from "./file-rules.ts";
import type { RouteSource } from "./source.ts";

export type RoutesFileOptions = { removalGraceMs?: number };

export const DEFAULT_REMOVAL_GRACE_MS = 3000;

export function watchRoutesFile(file: string, networks: readonly Network[], log: Logger, onChange: (set: RouteSet) => void, pollMs = 500, options: RoutesFileOptions = {}): RouteSource {
  const graceMs = options.removalGraceMs ?? DEFAULT_REMOVAL_GRACE_MS;
  let current: RouteSet | undefined;
  let serving: ReadonlyMap<string, Candidate> = new Map();
  /** The content read last (undefined while the file cannot be read), when it was first read, and whether it was acted on. */
  let content: string | undefined;
  let changedAt = 0;
  let handled = false;
  /** The applied file's verdicts while routes it left out wait for the grace period. */
  let removals: Map<string, Evaluated> | undefined;
  let unreadable: string | undefined;

  const publish = (next: NextRoutes) => {
    serving = next.serving;
    current = assembleRoutes([...[...next.serving.values()].map((candidate) => ({ candidate })), ...next.refused.map((admission) => ({ admission }))]);
    onChange(current);
    return current;
  };

  const apply = (text: string) => {
    const read = readRouteDocuments(text);
    if ("error" in read) return log.error("routes file invalid; serving the last table", { file, error: read.error });
    if (read.documents === 0) {
      return log.error("routes file has no documents; serving the last table", {
        file, routes: current?.table.size ?? 0, hint: "to serve no routes on purpose, write: {apiVersion: obol.org/v1alpha1, kind: PaymentRouteList, items: []}",
      });
    }
    const verdicts = evaluateRoutes(read.routes, networks);
    const next = nextRoutes(serving, verdicts, false);
    const set = publish(next);
    for (const a of next.kept) log.error("route invalid; serving its last good version", { file, route: a.key, error: a.message });
    for (const a of set.admissions.filter((a) => !a.admitted)) log.warn("route not admitted", a);
    log.info("routes loaded", { file, routes: set.table.size, ...(next.absent.length ? { absent: next.absent, removedAfterMs: graceMs } : {}) });
    removals = next.absent.length ? verdicts : undefined;
  };

  const poll = () => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      const message = (error as Error).message;
      if (unreadable !== message) log.error("routes file unreadable; serving the last table", { file, error: message });
      unreadable = message;
      content = undefined;
      return;
    }
    unreadable = undefined;
    const now = performance.now();
    if (text !== content) {
      content = text;
      changedAt = now;
      handled = false;
      removals = undefined;
      return;
    }
    if (!handled) {
      handled = true;
      apply(text);
    }
    if (removals && now - changedAt >= graceMs) {
      const next = nextRoutes(serving, removals, true);
      removals = undefined;
      log.info("routes removed", { file, removed: next.absent, routes: publish(next).table.size });
    }
  };

  const tick = () => {
    try {
      poll();
    } catch (error) {
      log.error("routes file check failed; serving the last table", { file, error: String(error) });
    }
  };
  tick();
  const timer = setInterval(tick, pollMs);
  timer.unref?.();
  return { current: () => current, stop: () => clearInterval(timer) };
}
