// Where the data path sends a route's paid requests. A route file is the operator's own, so
// it may name any http(s) upstream; a PaymentRoute in the cluster is a tenant's, so it may
// name only a Service of its own namespace: the verifier must not become anyone's way to
// reach the API server, a cloud metadata endpoint, or another tenant's Services.
import type { FieldIssue } from "../../core/field-issues.ts";
import type { Upstream } from "../../core/payment-route.ts";

export type UpstreamTarget = {
  /** Scheme, host, port and base path; the request's path is appended to its path. */
  base: URL;
  /** Removed from the start of the request's path (on a segment boundary) before it is appended. */
  stripPrefix: string;
};

/** file: any http(s) URL; cluster: only `<service>.<the route's namespace>.svc[.cluster.local]`. */
export type UpstreamTrust = "file" | "cluster";

export type TargetResult = { ok: true; target: UpstreamTarget } | { ok: false; issue: FieldIssue };

const CLUSTER_SERVICE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$/;

export function upstreamTarget(upstream: Upstream, namespace: string, trust: UpstreamTrust): TargetResult {
  const refuse = (message: string): TargetResult => ({ ok: false, issue: { field: "spec.upstream.url", message } });
  let base: URL;
  try {
    base = new URL(upstream.url);
  } catch {
    return refuse(`is not a URL (got "${upstream.url.slice(0, 80)}")`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") return refuse("must be an http:// or https:// URL");
  if (base.username || base.password) return refuse("must not carry credentials: give them as upstreamAuth, from a Secret");
  if (base.search || base.hash) return refuse("must not have a query or a fragment");
  if (trust === "cluster") {
    const service = CLUSTER_SERVICE.exec(base.hostname);
    if (!service || service[3] !== namespace) {
      return refuse(`in the cluster, must name a Service of the route's own namespace (http://<service>.${namespace}.svc:<port>), got host "${base.hostname}"`);
    }
  }
  const stripPrefix = (upstream.stripPrefix ?? "/").replace(/\/+$/, "") || "/";
  return { ok: true, target: { base, stripPrefix } };
}

/**
 * The upstream URL for a request priced by `path` (the verifier's normalized path, each
 * segment decoded once) with `query` (as the buyer sent it, "?..." or ""): the segments are
 * encoded again, so the upstream reads exactly the path that was priced.
 */
export function upstreamUrl(target: UpstreamTarget, path: string, query: string): URL {
  const { base, stripPrefix } = target;
  let rest = path;
  if (stripPrefix !== "/" && (path === stripPrefix || path.startsWith(`${stripPrefix}/`))) rest = path.slice(stripPrefix.length) || "/";
  const encoded = rest.split("/").map((segment) => encodeURIComponent(segment)).join("/");
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, "")}${encoded.startsWith("/") ? encoded : `/${encoded}`}`;
  url.search = query;
  return url;
}
