// Paths an offer may not take: the stack's own pages live there (obol-stack serves its API,
// OpenAPI document, skill file, RPC and well-known documents on them), and "/" or "/services"
// itself would capture every other offer's requests. Such an offer is valid but not
// published: RoutePublished=False, reason ReservedPath, as obol-stack reports it.
import type { FieldIssue } from "./field-issues.ts";

export const RESERVED_PATH_REASON = "ReservedPath";

/** Reserved as they are and with everything under them. */
const RESERVED_TREES = ["/api", "/openapi.json", "/skill.md", "/rpc", "/.well-known"];
/** Reserved as they are only: offers live under /services/<name>. */
const RESERVED_EXACT = ["/", "/services"];

export function reservedPathIssue(path: string): FieldIssue | undefined {
  const reserved = RESERVED_EXACT.includes(path) || RESERVED_TREES.some((tree) => path === tree || path.startsWith(`${tree}/`));
  if (!reserved) return undefined;
  return { field: "spec.path", message: `"${path}" is reserved for the stack's own pages; choose a path under /services/`, reason: RESERVED_PATH_REASON };
}
