import { describe, expect, it } from "vitest";
import { canonicalPattern, patternKind } from "./pattern.ts";
import { buildRouteTable, liveRouteTable } from "./table.ts";

const table = (...patterns: string[]) => buildRouteTable(patterns.map((pattern) => ({ pattern, value: pattern })));

describe("route table", () => {
  const routes = table("/*", "/services/*", "/services/llm/*", "/services/llm/v1/models", "/services/*/admin", "/services/*/v1/*", "/files/*.json");

  it.each([
    ["/services/llm/v1/models", "/services/llm/v1/models"], // exact beats every prefix
    ["/services/llm/v1/chat", "/services/llm/*"], // longest prefix
    ["/services/llm", "/services/llm/*"], // a prefix covers its own root
    ["/services/other/admin", "/services/*"], // a prefix beats a glob
    ["/elsewhere", "/*"],
  ])("%s is priced by %s", (path, pattern) => {
    expect(routes.lookup(path)).toBe(pattern);
  });

  it("does not match a sibling that merely shares a prefix", () => {
    expect(table("/services/llm/*").lookup("/services/llmx/a")).toBeUndefined();
  });

  it("matches globs segment by segment, most literal first", () => {
    const globs = table("/v1/*/chat", "/v1/*/*", "/v1/models/*/info", "/files/*.json", "/a/*/c/*");
    expect(globs.lookup("/v1/llama/chat")).toBe("/v1/*/chat");
    expect(globs.lookup("/v1/llama/other")).toBe("/v1/*/*");
    expect(globs.lookup("/v1/models/x/info")).toBe("/v1/models/*/info");
    expect(globs.lookup("/files/report.json")).toBe("/files/*.json");
    expect(globs.lookup("/files/report.csv")).toBeUndefined();
    expect(globs.lookup("/a/b/c")).toBe("/a/*/c/*");
    expect(globs.lookup("/a/b/c/d/e")).toBe("/a/*/c/*");
    expect(globs.lookup("/v1/too/many/segments")).toBe("/v1/*/*"); // a final "/*" takes the rest
    expect(globs.lookup("/files/deeper/report.json")).toBeUndefined(); // "*" inside stays in one segment
  });

  it("gives a free path nothing", () => {
    expect(table("/services/*").lookup("/healthz")).toBeUndefined();
  });

  it("keeps the first of two routes claiming one pattern and reports the other", () => {
    const built = buildRouteTable([{ pattern: "/x/*", value: "a/first" }, { pattern: "/x/*", value: "b/second" }]);
    expect(built.lookup("/x/1")).toBe("a/first");
    expect(built.conflicts).toEqual([{ pattern: "/x/*", value: "b/second", winner: "a/first" }]);
  });

  it("treats patterns that differ only in slashes or dot segments as one: the first claim keeps it", () => {
    const built = buildRouteTable([
      { pattern: "/services/a/*", value: "victim/a-payment" },
      { pattern: "/services/a//*", value: "zzz/newer" },
      { pattern: "/services/./a/*", value: "zzz/dotted" },
      { pattern: "/services/x/../a/*", value: "zzz/dotdot" },
    ]);
    expect(built.lookup("/services/a/v1/chat")).toBe("victim/a-payment");
    expect(built.conflicts.map((c) => [c.value, c.winner])).toEqual([["zzz/newer", "victim/a-payment"], ["zzz/dotted", "victim/a-payment"], ["zzz/dotdot", "victim/a-payment"]]);
    expect(built.size).toBe(1);
  });

  it("serves a pattern written with doubled slashes or dot segments at the paths it means", () => {
    expect(table("/a//b/*").lookup("/a/b/x")).toBe("/a//b/*");
    expect(table("/a/../b/*").lookup("/b/x")).toBe("/a/../b/*");
    expect(table("/a/b/").lookup("/a/b")).toBe("/a/b/");
  });

  it("looks up a path at the length limit, made of thousands of segments", () => {
    const routes = table("/a/*", "/a/a/a/x", "/a/*/b");
    const long = `/${"a/".repeat(4000)}z`;
    expect(routes.lookup(long)).toBe("/a/*");
    expect(table("/b/*", "/*/*/q").lookup(long)).toBeUndefined();
  });

  it("answers the same for every build order of distinct patterns", () => {
    const patterns = ["/a/*", "/a/b/*", "/a/*/c", "/a/b/c", "/*"];
    const reversed = buildRouteTable([...patterns].reverse().map((pattern) => ({ pattern, value: pattern })));
    const forward = buildRouteTable(patterns.map((pattern) => ({ pattern, value: pattern })));
    for (const path of ["/a/b/c", "/a/x/c", "/a/b/d", "/z", "/a"]) expect(reversed.lookup(path)).toBe(forward.lookup(path));
  });

  it("handles 10,000 routes", () => {
    const many = buildRouteTable(Array.from({ length: 10_000 }, (_, i) => ({ pattern: `/services/offer-${i}/*`, value: i })));
    expect(many.size).toBe(10_000);
    expect(many.lookup("/services/offer-9999/v1/chat")).toBe(9999);
    expect(many.lookup("/services/offer-10000/v1/chat")).toBeUndefined();
  });
});

describe("live route table", () => {
  const PATTERNS = ["/*", "/a/*", "/a/b/*", "/a//*", "/a/b", "/a/b/", "/a/*/c", "/a/*/c/*", "/a/*/*", "/a/v*", "/x/*.json", "/a/b/c", "//", "/a/./b/*", "/q/../a/b", "/a/*//c/"];
  const PATHS = ["/a/b/c", "/a/x/c", "/a/b/d", "/z", "/a", "/a/b", "/a/vx", "/x/r.json", "/a/q/c/d", "/a/b/c/d", "/"];
  const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

  it("answers like a table built from the claims still held, whatever came and went before", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seeded(seed);
      const live = liveRouteTable<string>();
      const held: { pattern: string; value: string }[] = [];
      for (let step = 0; step < 60; step++) {
        if (held.length > 0 && random() < 0.4) {
          const [gone] = held.splice(Math.floor(random() * held.length), 1);
          live.release(gone!.pattern, gone!.value);
        } else {
          const claim = { pattern: PATTERNS[Math.floor(random() * PATTERNS.length)]!, value: `v${step}` };
          held.push(claim);
          live.claim(claim.pattern, claim.value);
        }
        expect(live.size).toBe(new Set(held.map((c) => canonicalPattern(c.pattern))).size);
        expect([seed, step, ...PATHS.map((p) => live.lookup(p))]).toEqual([seed, step, ...PATHS.map((p) => plainLookup(held, p))]);
      }
    }
  });

  it("gives a pattern to the best-ranked claimant, and back to the next when it leaves", () => {
    const live = liveRouteTable<{ name: string; age: number }>((a, b) => b.age - a.age);
    const young = { name: "young", age: 1 };
    const old = { name: "old", age: 9 };
    live.claim("/x/*", young);
    expect(live.lookup("/x/1")).toBe(young);
    live.claim("/x/*", old);
    expect(live.lookup("/x/1")).toBe(old);
    expect(live.claimants("/x/*")).toEqual([old, young]);
    live.release("/x/*", old);
    expect(live.lookup("/x/1")).toBe(young);
    live.release("/x/*", young);
    expect(live.lookup("/x/1")).toBeUndefined();
    expect(live.size).toBe(0);
  });

  it("forgets globs it no longer serves, and serves them again when claimed", () => {
    const live = liveRouteTable<string>();
    live.claim("/v1/*/chat", "a");
    live.claim("/v1/m*/x/*", "b");
    live.release("/v1/*/chat", "a");
    live.release("/v1/m*/x/*", "b");
    live.release("/never/*/claimed", "c");
    expect(live.lookup("/v1/llama/chat")).toBeUndefined();
    expect(live.lookup("/v1/mo/x/y")).toBeUndefined();
    live.claim("/v1/*/chat", "a2");
    expect(live.lookup("/v1/llama/chat")).toBe("a2");
  });

  it("takes 10,000 claims one at a time without rebuilding", () => {
    const live = liveRouteTable<number>();
    for (let i = 0; i < 10_000; i++) live.claim(`/services/offer-${i}/*`, i);
    expect(live.size).toBe(10_000);
    expect(live.lookup("/services/offer-9999/v1/chat")).toBe(9999);
    for (let i = 0; i < 10_000; i += 2) live.release(`/services/offer-${i}/*`, i);
    expect(live.size).toBe(5_000);
    expect(live.lookup("/services/offer-9998/v1/chat")).toBeUndefined();
    expect(live.lookup("/services/offer-9999/v1/chat")).toBe(9999);
  });
});

/**
 * The rules spelled out plainly, as the first version of the table applied them to claims
 * in order: patterns that normalize alike are one pattern, and its first claim holds it;
 * an exact pattern, then the longest prefix, then the most literal glob.
 */
function plainLookup(claims: readonly { pattern: string; value: string }[], path: string): string | undefined {
  const holders = new Map<string, string>();
  for (const { pattern, value } of claims) if (!holders.has(canonicalPattern(pattern))) holders.set(canonicalPattern(pattern), value);
  const trim = (p: string) => p.replace(/\/+$/, "");
  let found: string | undefined;
  for (const [pattern, value] of holders) {
    if (patternKind(pattern) === "exact" && (pattern.length > 1 ? trim(pattern) : pattern) === path) found = value;
  }
  if (found !== undefined) return found;
  let longest = -1;
  for (const [pattern, value] of holders) {
    if (patternKind(pattern) !== "prefix") continue;
    const prefix = trim(pattern.slice(0, -2));
    const covers = path === prefix || (path.startsWith(prefix) && path[prefix.length] === "/");
    if (covers && prefix.length >= longest) [longest, found] = [prefix.length, value];
  }
  if (found !== undefined) return found;
  const segments = path.split("/").filter(Boolean);
  let best: { score: number[]; pattern: string; value: string } | undefined;
  for (const [pattern, value] of holders) {
    if (patternKind(pattern) !== "glob") continue;
    const parts = pattern.split("/").filter(Boolean);
    const rest = parts.at(-1) === "*" && pattern.endsWith("/*");
    const globSegments = rest ? parts.slice(0, -1) : parts;
    if (rest ? segments.length < globSegments.length : segments.length !== globSegments.length) continue;
    const matches = globSegments.every((g, i) => new RegExp(`^${g.split("*").map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`).test(segments[i]!));
    if (!matches) continue;
    const score = [globSegments.filter((g) => !g.includes("*")).length, globSegments.join("").replaceAll("*", "").length, rest ? 0 : 1];
    const differs = score.findIndex((x, i) => x !== best?.score[i]);
    const wins = !best || (differs >= 0 ? score[differs]! > best.score[differs]! : pattern < best.pattern);
    if (wins) best = { score, pattern, value };
  }
  return best?.value;
}
