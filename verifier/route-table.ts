// Which route prices a path. Most specific wins, the same answer every time: an exact
// pattern, then the longest prefix ("/a/*"), then the most literal glob. A lookup costs
// one map probe per path segment, however many routes there are. The table is kept
// current one claim at a time, so a watch that hears of routes one by one never rebuilds it.

export type PatternKind = "exact" | "prefix" | "glob";

export type RouteTable<T> = { lookup(path: string): T | undefined; readonly size: number };

/** A table that changes in place: each value claims a pattern, and the first-ranked claimant holds it. */
export type LiveRouteTable<T> = RouteTable<T> & {
  claim(pattern: string, value: T): void;
  /** Withdraws one claim (the value as it was claimed); a pattern nobody claims any more is free again. */
  release(pattern: string, value: T): void;
  /** Every value claiming the pattern, the holder first. */
  claimants(pattern: string): readonly T[];
};

type Claim<T> = { value: T; seq: number };
type Glob<T> = { segments: string[]; rest: boolean; score: number[]; pattern: string; value: T };
type GlobNode<T> = { literal: Map<string, GlobNode<T>>; wild: { test: RegExp; node: GlobNode<T> }[]; ends?: Glob<T>[] };

export function patternKind(pattern: string): PatternKind {
  if (!pattern.includes("*")) return "exact";
  return pattern.endsWith("/*") && !pattern.slice(0, -2).includes("*") ? "prefix" : "glob";
}

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

/**
 * `rank` orders the claimants of one pattern (negative: `a` comes first); the first holds
 * it, equal ranks go to the earlier claim. Patterns that differ only by slashes the lookup
 * ignores ("/a" and "/a/") are distinct claims; the one whose holder ranks last answers.
 */
export function liveRouteTable<T>(rank: (a: T, b: T) => number = () => 0): LiveRouteTable<T> {
  const claims = new Map<string, Claim<T>[]>();
  // What the lookup reads: one value per normalized pattern, kept in step with the holders.
  const exact = new Map<string, T>();
  const prefixes = new Map<string, T>();
  const exactHolders = new Map<string, Claim<T>[]>();
  const prefixHolders = new Map<string, Claim<T>[]>();
  const globRoot: GlobNode<T> = newNode();
  let globs = 0;
  let seq = 0;
  const order = (a: Claim<T>, b: Claim<T>) => rank(a.value, b.value) || a.seq - b.seq;

  /** The holder of `pattern` changed from `before` to `after` (either may be absent). */
  const hold = (pattern: string, before: Claim<T> | undefined, after: Claim<T> | undefined) => {
    if (before === after) return;
    const kind = patternKind(pattern);
    if (kind === "glob") {
      globs += (after ? 1 : 0) - (before ? 1 : 0);
      setGlob(globRoot, pattern, after?.value);
      return;
    }
    const [served, holders, key] = kind === "exact"
      ? [exact, exactHolders, pattern.length > 1 ? pattern.replace(/\/+$/, "") : pattern]
      : [prefixes, prefixHolders, pattern.slice(0, -2).replace(/\/+$/, "")];
    // Exactly sized arrays: there is one per pattern, 10,000 of them in a large table.
    const kept = (holders.get(key) ?? []).filter((c) => c !== before);
    const list = after ? [...kept, after] : kept;
    if (list.length === 0) {
      holders.delete(key);
      served.delete(key);
      return;
    }
    holders.set(key, list);
    served.set(key, list.reduce((last, c) => (order(c, last) > 0 ? c : last)).value);
  };

  return {
    get size() {
      return claims.size;
    },
    claim(pattern, value) {
      const claim = { value, seq: seq++ };
      const list = claims.get(pattern);
      if (!list) {
        claims.set(pattern, [claim]);
        hold(pattern, undefined, claim);
        return;
      }
      const before = list[0];
      let at = list.length;
      while (at > 0 && order(claim, list[at - 1]!) < 0) at--;
      list.splice(at, 0, claim);
      hold(pattern, before, list[0]);
    },
    release(pattern, value) {
      const list = claims.get(pattern);
      const at = list?.findIndex((c) => c.value === value) ?? -1;
      if (!list || at < 0) return;
      const before = list[0];
      list.splice(at, 1);
      if (list.length === 0) claims.delete(pattern);
      hold(pattern, before, list[0]);
    },
    claimants: (pattern) => claims.get(pattern)?.map((c) => c.value) ?? [],
    lookup(path) {
      const hit = exact.get(path);
      if (hit !== undefined) return hit;
      if (prefixes.size > 0) {
        for (let end = path.length; end >= 0; end = path.lastIndexOf("/", end - 1)) {
          const prefix = prefixes.get(end === path.length ? path : path.slice(0, end));
          if (prefix !== undefined) return prefix;
          if (end === 0) break;
        }
      }
      return globs > 0 ? bestGlob(globRoot, path) : undefined;
    },
  };
}

function newNode<T>(): GlobNode<T> {
  return { literal: new Map(), wild: [] };
}

/** Serves `value` for a glob pattern, or (undefined) stops serving it and prunes what is left empty. */
function setGlob<T>(root: GlobNode<T>, pattern: string, value: T | undefined): void {
  const parts = pattern.split("/").filter((s) => s !== "");
  const rest = parts.at(-1) === "*" && pattern.endsWith("/*");
  const segments = rest ? parts.slice(0, -1) : parts;
  const path: GlobNode<T>[] = [root];
  let node = root;
  for (const segment of segments) {
    let next: GlobNode<T> | undefined;
    if (!segment.includes("*")) {
      next = node.literal.get(segment);
      if (!next && value !== undefined) node.literal.set(segment, next = newNode());
    } else {
      const source = `^${segment.split("*").map(escapeRegExp).join("[^/]*")}$`;
      let wild = node.wild.find((w) => w.test.source === source);
      if (!wild && value !== undefined) node.wild.push(wild = { test: new RegExp(source), node: newNode() });
      next = wild?.node;
    }
    if (!next) return; // removing a pattern that was never served
    path.push(node = next);
  }
  const ends = (node.ends ?? []).filter((g) => g.pattern !== pattern);
  if (value !== undefined) {
    const literalSegments = segments.filter((s) => !s.includes("*")).length;
    const literalChars = segments.join("").replaceAll("*", "").length;
    ends.push({ segments, rest, score: [literalSegments, literalChars, rest ? 0 : 1], pattern, value });
  }
  if (ends.length > 0) node.ends = ends;
  else delete node.ends;
  // Under churn, nodes that serve nothing and lead nowhere must not pile up.
  for (let depth = path.length - 1; depth > 0; depth--) {
    const child = path[depth]!;
    if (child.ends || child.literal.size > 0 || child.wild.length > 0) break;
    const parent = path[depth - 1]!;
    const segment = segments[depth - 1]!;
    if (!segment.includes("*")) parent.literal.delete(segment);
    else parent.wild = parent.wild.filter((w) => w.node !== child);
  }
}

function bestGlob<T>(root: GlobNode<T>, path: string): T | undefined {
  const segments = path.split("/").filter((s) => s !== "");
  let best: Glob<T> | undefined;
  const consider = (glob: Glob<T>) => {
    if (!best || better(glob, best)) best = glob;
  };
  const walk = (node: GlobNode<T>, depth: number) => {
    for (const glob of node.ends ?? []) if (glob.rest || depth === segments.length) consider(glob);
    if (depth === segments.length) return;
    const segment = segments[depth]!;
    const literal = node.literal.get(segment);
    if (literal) walk(literal, depth + 1);
    for (const wild of node.wild) if (wild.test.test(segment)) walk(wild.node, depth + 1);
  };
  walk(root, 0);
  return best?.value;
}

function better<T>(a: Glob<T>, b: Glob<T>): boolean {
  for (let i = 0; i < a.score.length; i++) if (a.score[i] !== b.score[i]) return a.score[i]! > b.score[i]!;
  return a.pattern < b.pattern;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
