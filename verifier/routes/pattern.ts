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
 * Whether one path segment matches one pattern segment, whose "*" (at most one: the
 * schema allows no more) stands for any run of characters. A prefix and a suffix check:
 * its cost is the pattern segment's length, whatever the path holds.
 */
export function segmentMatches(glob: string, segment: string): boolean {
  const star = glob.indexOf("*");
  if (star < 0) return glob === segment;
  const head = glob.slice(0, star);
  const tail = glob.slice(star + 1);
  return segment.length >= head.length + tail.length && segment.startsWith(head) && segment.endsWith(tail);
}
