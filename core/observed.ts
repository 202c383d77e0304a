// What the adapters saw, handed to the core: the core never looks for itself.
import type { ChildKind } from "./kinds.ts";
import type { KubeObject } from "./kube.ts";

export type UpstreamObservation = {
  healthy: boolean;
  /** What the probe saw, e.g. "GET http://10.0.0.7:11434/health answered 200". */
  message: string;
};

/** Where an offer's upstream is probed: through its Service, at its health path. */
export type UpstreamTarget = { namespace: string; service: string; port: number; healthPath: string };

export type Observed = {
  /** The last health probe of the upstream; absent until one has run. */
  upstream?: UpstreamObservation;
  /** The offer's children as they exist now, found by their ownership labels. */
  children: readonly KubeObject[];
  /** Child kinds whose CRD is not installed in the cluster (e.g. no Traefik yet). */
  missingKinds?: readonly ChildKind[];
};

export const NOTHING_OBSERVED: Observed = { children: [] };
