import { describe, expect, it } from "vitest";
import { normalizePath } from "./normalize-path.ts";

const path = (uri: string) => {
  const result = normalizePath(uri);
  return result.ok ? result.path : `error: ${result.reason}`;
};

describe("normalizePath", () => {
  it.each([
    ["/services/llm/v1/chat", "/services/llm/v1/chat"],
    ["/services/llm/v1/chat?stream=true", "/services/llm/v1/chat"],
    ["/services/llm/#frag", "/services/llm"],
    ["//services///llm//x", "/services/llm/x"],
    ["/services/./llm/./x", "/services/llm/x"],
    ["/free/../services/llm/x", "/services/llm/x"],
    ["/../../services/llm", "/services/llm"],
    ["/services/%6C%6Cm/x", "/services/llm/x"],
    ["/services%2Fllm%2Fx", "/services/llm/x"],
    ["/free/%252E%252E/services/llm", "/services/llm"],
    ["/services/%2e%2e/services/llm", "/services/llm"],
    ["/services\\llm\\x", "/services/llm/x"],
    ["http://evil.example/services/llm/x?y", "/services/llm/x"],
    ["", "/"],
    ["/", "/"],
  ])("%s -> %s", (uri, expected) => {
    expect(path(uri)).toBe(expected);
  });

  it("refuses malformed percent-encoding", () => {
    expect(normalizePath("/services/%E0%A4%A").ok).toBe(false);
    expect(normalizePath("/services/%zz").ok).toBe(false);
  });
});
