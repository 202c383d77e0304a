// Where the verifier's routes come from: the cluster's PaymentRoutes (cluster-source.ts) or a
// file (file-source.ts). Each calls back with the whole current set when it changes, and the
// verifier serves whichever it was given the same way.
import type { RouteSet } from "./set.ts";

export type RouteSource = {
  /** The set last published; undefined until the first complete one (nothing is priced before it). */
  current(): RouteSet | undefined;
  stop(): void | Promise<void>;
};

export type OnRoutes = (set: RouteSet) => void;
