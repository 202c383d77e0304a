import { describe, expect, it } from "vitest";
import { buildRouteTable, patternKind } from "./route-table.ts";

const table = (...patterns: string[]) => buildRouteTable(patterns.map((pattern) => ({ pattern, value: pattern })));

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
