// Routes from a file, for running without Kubernetes: a multi-document YAML of
// PaymentRoute objects, re-read whenever it changes. A file that fails to parse keeps
// the last good table in service.
import { readFileSync, statSync } from "node:fs";
import { InputError, parseYamlDocuments } from "../cli/read-input.ts";
import type { Network } from "../core/networks.ts";
import type { Logger } from "../adapters/log.ts";
import { compileRoutes, type RouteSet } from "./route-set.ts";

export type RouteSource = { current(): RouteSet | undefined; stop(): void };

export function watchRoutesFile(file: string, networks: readonly Network[], log: Logger, onChange: (set: RouteSet) => void, pollMs = 500): RouteSource {
  let current: RouteSet | undefined;
  let seen = "";
  const load = () => {
    let stamp: string;
    try {
      const stat = statSync(file);
      stamp = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch (error) {
      if (seen !== "missing") log.error("routes file unreadable; serving the last table", { file, error: (error as Error).message });
      seen = "missing";
      return;
    }
    if (stamp === seen) return;
    seen = stamp;
    try {
      const set = compileRoutes(parseYamlDocuments(readFileSync(file, "utf8"), file), networks);
      for (const a of set.admissions.filter((a) => !a.admitted)) log.warn("route not admitted", a);
      current = set;
      log.info("routes loaded", { file, routes: set.table.size });
      onChange(set);
    } catch (error) {
      const message = error instanceof InputError ? error.message : String(error);
      log.error("routes file invalid; serving the last table", { file, error: message });
    }
  };
  load();
  const timer = setInterval(load, pollMs);
  timer.unref?.();
  return { current: () => current, stop: () => clearInterval(timer) };
}
