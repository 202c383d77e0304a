// One spelling per path before matching, so that no spelling of a priced path
// (percent-encoded, doubled slashes, dot segments, a query string) can slip past payment.

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

/** Decoding repeats until stable (bounded): decoding more than the router does only ever adds matches, never removes one. */
const MAX_DECODE_ROUNDS = 4;

export function normalizePath(uri: string): NormalizedPath {
  let path = stripQuery(pathOf(uri));
  for (let round = 0; round < MAX_DECODE_ROUNDS && path.includes("%"); round++) {
    try {
      const decoded = decodeURIComponent(path);
      if (decoded === path) break;
      path = decoded;
    } catch {
      return { ok: false, reason: "malformed percent-encoding in the request path" };
    }
  }
  const segments: string[] = [];
  for (const segment of path.replaceAll("\\", "/").split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return { ok: true, path: `/${segments.join("/")}` };
}

/** Traefik passes the request target as sent, which may be absolute-form ("http://host/path"). */
function pathOf(uri: string): string {
  if (uri.startsWith("/")) return uri;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(uri);
  return scheme ? uri.slice(scheme[0].length) || "/" : `/${uri}`;
}

function stripQuery(path: string): string {
  const end = path.search(/[?#]/);
  return end < 0 ? path : path.slice(0, end);
}
