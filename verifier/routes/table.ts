// Which route prices a path. Most specific wins, the same answer every time: an exact
// pattern, then the longest prefix ("/a/*"), then the most literal glob. A lookup reads the
// path once, segment by segment, whatever its length and however many routes there are.
// The table is kept current one claim at a time, so a watch that hears of routes one by
// one never rebuilds it. Patterns are claimed in their canonical form (pattern.ts):
// "/a//*" and "/a/*" are one pattern, held by one route.
import { canonicalPattern, patternKind, segmentMatches, segmentsOf } from "./pattern.ts";

export type RouteTable<T> = { lookup(path: string): T | undefined; readonly size: number };

/** A table that changes in place: each value claims a pattern, and the first-ranked claimant holds it. */
export type LiveRouteTable<T> = RouteTable<T> & {
  claim(pattern: string, value: T): void;
  /** Withdraws one claim (the value as it was claimed); a pattern nobody claims any more is free again. */
  release(pattern: string, value: T): void;
  /** Every value claiming the pattern (in any spelling), the holder first. */
  claimants(pattern: string): readonly T[];
  /** The value holding the pattern, if any: claimants(pattern)[0] without the copy. */
  holder(pattern: string): T | undefined;
};

type Claim<T> = { value: T; seq: number };
type PrefixNode<T> = { children: Map<string, PrefixNode<T>>; value?: T };
type Glob<T> = { rest: boolean; score: number[]; pattern: string; value: T };
type GlobNode<T> = { literal: Map<string, GlobNode<T>>; wild: Map<string, GlobNode<T>>; ends?: Glob<T>[] };

/**
 * Entries should arrive in a stable order (the caller sorts them): when two routes claim
 * the same pattern, the first one keeps it, and `conflicts` names the others.
 */
export function buildRouteTable<T>(entries: readonly { pattern: string; value: T }[]): RouteTable<T> & { conflicts: { pattern: string; value: T; winner: T }[] } {
  const table = liveRouteTable<T>();
  const conflicts: { pattern: string; value: T; winner: T }[] = [];
  for (const { pattern, value } of entries) {
    table.claim(pattern, value);
    // Without a rank, a later claim never displaces the holder.
    const claimants = table.claimants(pattern);
    if (claimants.length > 1) conflicts.push({ pattern, value, winner: claimants[0]! });
  }
  return { lookup: table.lookup, get size() {
    return table.size;
  }, conflicts };
}

/** `rank` orders the claimants of one pattern (negative: `a` comes first); the first holds it, equal ranks go to the earlier claim. */
export function liveRouteTable<T>(rank: (a: T, b: T) => number = () => 0): LiveRouteTable<T> {
  const claims = new Map<string, Claim<T>[]>();
  const exact = new Map<string, T>();
  const prefixRoot: PrefixNode<T> = { children: new Map() };
  const globRoot: GlobNode<T> = newGlobNode();
  let globs = 0;
  let seq = 0;
  const order = (a: Claim<T>, b: Claim<T>) => rank(a.value, b.value) || a.seq - b.seq;

  /** Serves the holder of a canonical pattern, or (undefined) stops serving it. */
  const serve = (pattern: string, value: T | undefined) => {
    const kind = patternKind(pattern);
    if (kind === "exact") value === undefined ? exact.delete(pattern) : exact.set(pattern, value);
    else if (kind === "prefix") setPrefix(prefixRoot, segmentsOf(pattern.slice(0, -2) || "/"), value);
    else globs += setGlob(globRoot, pattern, value);
  };

  return {
    get size() {
      return claims.size;
    },
    claim(pattern, value) {
      const key = canonicalPattern(pattern);
      const claim = { value, seq: seq++ };
      const list = claims.get(key) ?? [];
      const before = list[0];
      let at = list.length;
      while (at > 0 && order(claim, list[at - 1]!) < 0) at--;
      list.splice(at, 0, claim);
      claims.set(key, list);
      if (list[0] !== before) serve(key, value);
    },
    release(pattern, value) {
      const key = canonicalPattern(pattern);
      const list = claims.get(key);
      const at = list?.findIndex((c) => c.value === value) ?? -1;
      if (!list || at < 0) return;
      list.splice(at, 1);
      if (list.length === 0) claims.delete(key);
      if (at === 0) serve(key, list[0]?.value);
    },
    claimants: (pattern) => claims.get(canonicalPattern(pattern))?.map((c) => c.value) ?? [],
    holder: (pattern) => claims.get(canonicalPattern(pattern))?.[0]?.value,
    lookup(path) {
      const hit = exact.get(path);
      if (hit !== undefined) return hit;
      const prefix = longestPrefix(prefixRoot, path);
      if (prefix !== undefined) return prefix;
      return globs > 0 ? bestGlob(globRoot, segmentsOf(path)) : undefined;
    },
  };
}

function longestPrefix<T>(root: PrefixNode<T>, path: string): T | undefined {
  let found = root.value;
  let node: PrefixNode<T> | undefined = root;
  for (let start = 1; node && start < path.length;) {
    let stop = path.indexOf("/", start);
    if (stop < 0) stop = path.length;
    node = node.children.get(path.slice(start, stop));
    if (node?.value !== undefined) found = node.value;
    start = stop + 1;
  }
  return found;
}

function setPrefix<T>(root: PrefixNode<T>, segments: string[], value: T | undefined): void {
  const trail: PrefixNode<T>[] = [root];
  for (const segment of segments) {
    const node = trail.at(-1)!;
    let next = node.children.get(segment);
    if (!next) {
      if (value === undefined) return;
      node.children.set(segment, next = { children: new Map() });
    }
    trail.push(next);
  }
  const target = trail.at(-1)!;
  if (value !== undefined) target.value = value;
  else delete target.value;
  // Under churn, nodes that serve nothing and lead nowhere must not pile up.
  for (let depth = trail.length - 1; depth > 0 && trail[depth]!.value === undefined && trail[depth]!.children.size === 0; depth--) {
    trail[depth - 1]!.children.delete(segments[depth - 1]!);
  }
}

function newGlobNode<T>(): GlobNode<T> {
  return { literal: new Map(), wild: new Map() };
}

/** Serves `value` for a glob pattern, or (undefined) stops serving it; returns the change in the number served. */
function setGlob<T>(root: GlobNode<T>, pattern: string, value: T | undefined): number {
  const rest = pattern.endsWith("/*");
  const segments = segmentsOf(rest ? pattern.slice(0, -2) || "/" : pattern);
  const trail: GlobNode<T>[] = [root];
  for (const segment of segments) {
    const node = trail.at(-1)!;
    const branch = segment.includes("*") ? node.wild : node.literal;
    let next = branch.get(segment);
    if (!next) {
      if (value === undefined) return 0;
      branch.set(segment, next = newGlobNode());
    }
    trail.push(next);
  }
  const target = trail.at(-1)!;
  const before = target.ends?.length ?? 0;
  const ends = (target.ends ?? []).filter((g) => g.pattern !== pattern);
  if (value !== undefined) {
    const literalSegments = segments.filter((s) => !s.includes("*")).length;
    const literalChars = segments.join("").replaceAll("*", "").length;
    ends.push({ rest, score: [literalSegments, literalChars, rest ? 0 : 1], pattern, value });
  }
  if (ends.length > 0) target.ends = ends;
  else delete target.ends;
  for (let depth = trail.length - 1; depth > 0; depth--) {
    const child = trail[depth]!;
    if (child.ends || child.literal.size > 0 || child.wild.size > 0) break;
    const segment = segments[depth - 1]!;
    (segment.includes("*") ? trail[depth - 1]!.wild : trail[depth - 1]!.literal).delete(segment);
  }
  return ends.length - before;
}

/** Each node of the glob tree sits at one depth, so a lookup visits each at most once. */
function bestGlob<T>(root: GlobNode<T>, segments: readonly string[]): T | undefined {
  let best: Glob<T> | undefined;
  const walk = (node: GlobNode<T>, depth: number) => {
    for (const glob of node.ends ?? []) {
      if ((glob.rest || depth === segments.length) && (!best || better(glob, best))) best = glob;
    }
    if (depth === segments.length) return;
    const segment = segments[depth]!;
    const literal = node.literal.get(segment);
    if (literal) walk(literal, depth + 1);
    for (const [glob, next] of node.wild) if (segmentMatches(glob, segment)) walk(next, depth + 1);
  };
  walk(root, 0);
  return best?.value;
}

function better<T>(a: Glob<T>, b: Glob<T>): boolean {
  for (let i = 0; i < a.score.length; i++) if (a.score[i] !== b.score[i]) return a.score[i]! > b.score[i]!;
  return a.pattern < b.pattern;
}
