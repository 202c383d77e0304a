// The path a request is priced by, read exactly as Traefik routed it, or refused.
//
// Traefik (Go) routes on the path decoded once, after cleaning dot segments and doubled
// slashes (its default `sanitizePath`), and forwards that cleaned path in X-Forwarded-Uri.
// Anything that still looks ambiguous here is a request Traefik and we could read
// differently, so that the verifier finds a cheaper (or free) route than the prefix Traefik
// routed it under: a backslash (Go keeps it as a literal byte; other software treats it as
// a separator), a slash or a dot segment that only appears after decoding, a dot segment
// or an empty segment Traefik would have cleaned away, a control character. Each is
// refused (400), never guessed. Decoding happens once, as in Go: "%252e" stays "%2e".

export type NormalizedPath = { ok: true; path: string } | { ok: false; status: 400 | 414; reason: string };

/** Far beyond any honest path; keeps the cost of one answer small (the work is linear in it). */
export const MAX_URI_LENGTH = 8192;

const CONTROL = /[\u0000-\u001f\u007f]/;

export function normalizePath(uri: string): NormalizedPath {
  if (uri.length > MAX_URI_LENGTH) return { ok: false, status: 414, reason: `request target longer than ${MAX_URI_LENGTH} characters` };
  if (!uri.startsWith("/")) return refuse("X-Forwarded-Uri must be a path starting with '/'");
  const end = firstOf(uri, "?", "#");
  if (end < uri.length && uri[end] === "#") return refuse("a fragment (#) in the request path");
  const raw = uri.slice(0, end);
  const segments: string[] = [];
  let start = 1;
  while (start <= raw.length) {
    let stop = raw.indexOf("/", start);
    if (stop < 0) stop = raw.length;
    const segment = raw.slice(start, stop);
    const last = stop === raw.length;
    start = stop + 1;
    if (segment === "") {
      // "/a/" ends in one empty segment, which names the same resource; "/a//b" does not.
      if (last) break;
      return refuse("an empty path segment (//)");
    }
    const decoded = decodeSegment(segment);
    if (typeof decoded !== "string") return decoded;
    segments.push(decoded);
  }
  return { ok: true, path: `/${segments.join("/")}` };
}

function decodeSegment(segment: string): string | NormalizedPath {
  let decoded = segment;
  if (segment.includes("%")) {
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return refuse("malformed percent-encoding in the request path");
    }
    if (decoded.includes("/")) return refuse("an encoded slash (%2F) in the request path");
  }
  if (decoded === "." || decoded === "..") return refuse("a dot segment (. or ..) in the request path");
  if (decoded.includes("\\")) return refuse("a backslash in the request path");
  if (CONTROL.test(decoded)) return refuse("a control character in the request path");
  return decoded;
}

function firstOf(text: string, ...characters: string[]): number {
  let first = text.length;
  for (const c of characters) {
    const at = text.indexOf(c);
    if (at >= 0 && at < first) first = at;
  }
  return first;
}

function refuse(reason: string): NormalizedPath {
  return { ok: false, status: 400, reason };
}
