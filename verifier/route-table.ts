// Which route prices a path. Most specific wins, the same answer every time: an exact
// pattern, then the longest prefix ("/a/*"), then the most literal glob. A lookup costs
// one map probe per path segment, however many routes there are.

export type PatternKind = "exact" | "prefix" | "glob";

export type RouteTable<T> = { lookup(path: string): T | undefined; readonly size: number };

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
  const exact = new Map<string, T>();
  const prefixes = new Map<string, T>();
  const globRoot: GlobNode<T> = newNode();
  const seen = new Map<string, T>();
  const conflicts: { pattern: string; value: T; winner: T }[] = [];
  let hasGlobs = false;

  for (const { pattern, value } of entries) {
    const winner = seen.get(pattern);
    if (winner !== undefined) {
      conflicts.push({ pattern, value, winner });
      continue;
    }
    seen.set(pattern, value);
    const kind = patternKind(pattern);
    if (kind === "exact") exact.set(pattern.length > 1 ? pattern.replace(/\/+$/, "") : pattern, value);
    else if (kind === "prefix") prefixes.set(pattern.slice(0, -2).replace(/\/+$/, ""), value);
    else {
      addGlob(globRoot, pattern, value);
      hasGlobs = true;
    }
  }

  return {
    size: seen.size,
    conflicts,
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
      return hasGlobs ? bestGlob(globRoot, path) : undefined;
    },
  };
}

function newNode<T>(): GlobNode<T> {
  return { literal: new Map(), wild: [] };
}

function addGlob<T>(root: GlobNode<T>, pattern: string, value: T): void {
  const parts = pattern.split("/").filter((s) => s !== "");
  const rest = parts.at(-1) === "*" && pattern.endsWith("/*");
  const segments = rest ? parts.slice(0, -1) : parts;
  const literalSegments = segments.filter((s) => !s.includes("*")).length;
  const literalChars = segments.join("").replaceAll("*", "").length;
  const glob: Glob<T> = { segments, rest, score: [literalSegments, literalChars, rest ? 0 : 1], pattern, value };
  let node = root;
  for (const segment of segments) {
    if (!segment.includes("*")) {
      node = getOrAdd(node.literal, segment);
      continue;
    }
    const source = `^${segment.split("*").map(escapeRegExp).join("[^/]*")}$`;
    let wild = node.wild.find((w) => w.test.source === source);
    if (!wild) node.wild.push(wild = { test: new RegExp(source), node: newNode() });
    node = wild.node;
  }
  (node.ends ??= []).push(glob);
}

function getOrAdd<T>(map: Map<string, GlobNode<T>>, key: string): GlobNode<T> {
  let node = map.get(key);
  if (!node) map.set(key, node = newNode());
  return node;
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
