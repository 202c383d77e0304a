import { describe, expect, it } from "vitest";
import { reservedPathIssue } from "./reserved-paths.ts";

describe("reservedPathIssue", () => {
  it.each(["/", "/services", "/api", "/api/v1", "/openapi.json", "/skill.md", "/rpc", "/rpc/eth", "/.well-known", "/.well-known/agent-registration.json"])("refuses %s", (path) => {
    expect(reservedPathIssue(path)).toMatchObject({ field: "spec.path", reason: "ReservedPath" });
  });

  it.each(["/services/qwen", "/apiary", "/rpcx", "/openapi.json5", "/my/api", "/Services", "/servicesx"])("leaves %s to its offer", (path) => {
    expect(reservedPathIssue(path)).toBeUndefined();
  });
});
