import { describe, expect, it } from "vitest";
import { canonicalPattern, patternKind, segmentMatches } from "./pattern.ts";

describe("canonicalPattern", () => {
  it.each([
    ["/a/b", "/a/b"],
    ["/a/b/", "/a/b"],
    ["/a//b", "/a/b"],
    ["//", "/"],
    ["/", "/"],
    ["/a/./b/*", "/a/b/*"],
    ["/a/../b/*", "/b/*"],
    ["/../a/*", "/a/*"],
    ["/*", "/*"],
    ["//*", "/*"],
    ["/a//*", "/a/*"],
    ["/a/*/c//", "/a/*/c"],
    ["/a/*//*", "/a/*/*"],
  ])("%s -> %s", (pattern, canonical) => {
    expect(canonicalPattern(pattern)).toBe(canonical);
    expect(canonicalPattern(canonical)).toBe(canonical);
  });
});

describe("patternKind", () => {
  it("tells exact, prefix and glob apart", () => {
    expect(patternKind("/a/b")).toBe("exact");
    expect(patternKind("/a/*")).toBe("prefix");
    expect(patternKind("/*")).toBe("prefix");
    expect(patternKind("/a/*/c")).toBe("glob");
    expect(patternKind("/a/*/c/*")).toBe("glob");
    expect(patternKind("/a/v*")).toBe("glob");
  });
});

describe("segmentMatches", () => {
  const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const asRegExp = (glob: string) => new RegExp(`^${glob.split("*").map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");

  it("agrees with the regular expression it replaces, on generated one-star globs and segments", () => {
    const random = seeded(7);
    const pick = (alphabet: string, max: number) => Array.from({ length: Math.floor(random() * max) }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    for (let i = 0; i < 5000; i++) {
      const literal = pick("ab.", 6);
      const at = Math.floor(random() * (literal.length + 1));
      const glob = random() < 0.2 ? literal : `${literal.slice(0, at)}*${literal.slice(at)}`;
      const segment = pick("ab.", 9);
      expect([glob, segment, segmentMatches(glob, segment)]).toEqual([glob, segment, asRegExp(glob).test(segment)]);
    }
  });

  it("does not let a star overlap the literal parts around it", () => {
    expect(segmentMatches("ab*ba", "aba")).toBe(false);
    expect(segmentMatches("ab*ba", "abba")).toBe(true);
    expect(segmentMatches("*.json", "report.json")).toBe(true);
    expect(segmentMatches("*.json", ".jso")).toBe(false);
  });
});
