// A PaymentRoute's pattern, read one way. Patterns that differ only in doubled slashes,
// "." or ".." segments or a trailing slash name the same paths, because the verifier
// matches normalized paths; so they are one pattern, claimed by one route at a time.

export type PatternKind = "exact" | "prefix" | "glob";

/** "/a//b/./c/" -> "/a/b/c"; "/a/../b/*" -> "/b/*". A final "/*" stays: it means "and below". */
export function canonicalPattern(pattern: string): string {
  const rest = pattern.endsWith("/*");
  const segments: string[] = [];
  for (const segment of (rest ? pattern.slice(0, -2) : pattern).split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const base = `/${segments.join("/")}`;
  if (!rest) return base;
  return base === "/" ? "/*" : `${base}/*`;
}

/** Of a canonical pattern: exact ("/a/b"), prefix ("/a/*": "/a" and everything below), or glob ("*" elsewhere). */
export function patternKind(pattern: string): PatternKind {
  if (!pattern.includes("*")) return "exact";
  return pattern.endsWith("/*") && !pattern.slice(0, -2).includes("*") ? "prefix" : "glob";
}

/** The segments of a normalized path or canonical pattern: "/" has none. */
export function segmentsOf(path: string): string[] {
  return path === "/" ? [] : path.slice(1).split("/");
}

/**
 * Whether one path segment matches one pattern segment, "*" standing for any run of
 * characters. Greedy with one backtrack point: no regular expression, so a route's
 * pattern cannot make a lookup slow (a regular expression with many stars can take
 * time exponential in their number).
 */
export function segmentMatches(glob: string, segment: string): boolean {
  let g = 0;
  let s = 0;
  let star = -1;
  let resume = 0;
  while (s < segment.length) {
    if (g < glob.length && glob[g] !== "*" && glob[g] === segment[s]) {
      g++;
      s++;
    } else if (g < glob.length && glob[g] === "*") {
      star = g++;
      resume = s;
    } else if (star >= 0) {
      g = star + 1;
      s = ++resume;
    } else return false;
  }
  while (g < glob.length && glob[g] === "*") g++;
  return g === glob.length;
}
