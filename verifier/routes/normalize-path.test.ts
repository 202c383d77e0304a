import { describe, expect, it } from "vitest";
import { MAX_URI_LENGTH, normalizePath } from "./normalize-path.ts";

const path = (uri: string) => {
  const result = normalizePath(uri);
  return result.ok ? result.path : `${result.status}`;
};

describe("normalizePath", () => {
  it.each([
    ["/services/llm/v1/chat", "/services/llm/v1/chat"],
    ["/services/llm/v1/chat?stream=true", "/services/llm/v1/chat"],
    ["/services/llm/v1/chat?next=/../free#x", "/services/llm/v1/chat"],
    ["/services/llm/", "/services/llm"],
    ["/services/%6C%6Cm/x", "/services/llm/x"],
    ["/services/a%20b/x", "/services/a b/x"],
    ["/services/llm/%2570", "/services/llm/%70"], // decoded once, as Go does
    ["/free/%252E%252E/services/llm", "/free/%2E%2E/services/llm"], // not a dot segment after one decoding
    ["/services/.../x", "/services/.../x"],
    ["/", "/"],
  ])("%s -> %s", (uri, expected) => {
    expect(path(uri)).toBe(expected);
  });

  it.each([
    ["/api/premium/..%5C..%5Cfree", "a backslash"], // what Traefik forwards for /api/premium/..\..\free
    ["/api/premium/..\\..\\free", "a backslash"],
    ["/api%2Fpremium%2Fx", "an encoded slash"],
    ["/api/%2f/x", "an encoded slash"],
    ["/services/%2e%2e/free", "a dot segment"],
    ["/services/.%2E/free", "a dot segment"],
    ["/free/../services/llm/x", "a dot segment"],
    ["/services/./llm", "a dot segment"],
    ["//services/llm", "an empty path segment"],
    ["/services//llm", "an empty path segment"],
    ["/services/%00/x", "a control character"],
    ["/services/%0d%0aX-Injected:%201", "a control character"],
    ["/services/%E0%A4%A", "malformed percent-encoding"],
    ["/services/%zz", "malformed percent-encoding"],
    ["/services/%ff", "malformed percent-encoding"],
    ["/services/llm#frag", "a fragment"],
    ["services/llm", "must be a path"],
    ["http://evil.example/services/llm/x", "must be a path"],
    ["", "must be a path"],
  ])("refuses %s with 400 (%s)", (uri, reason) => {
    const result = normalizePath(uri);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.status).toBe(400);
      expect(result.reason).toContain(reason);
    }
  });

  it("refuses a target longer than the limit with 414, and accepts one at the limit", () => {
    const long = `/a/${"x".repeat(MAX_URI_LENGTH)}`;
    expect(normalizePath(long)).toMatchObject({ ok: false, status: 414 });
    expect(normalizePath(long.slice(0, MAX_URI_LENGTH)).ok).toBe(true);
  });

  it("is a fixed point: a normalized path normalizes to itself", () => {
    for (const uri of ["/a/b", "/a%20b/c", "/x/%2570/y", "/", "/a/.../b"]) {
      const once = normalizePath(uri);
      if (!once.ok) throw new Error(once.reason);
      const twice = normalizePath(once.path.split("/").map((s) => encodeURIComponent(s)).join("/"));
      expect(twice).toEqual(once);
    }
  });
});
