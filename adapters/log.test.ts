import { describe, expect, it } from "vitest";
import { jsonLogger } from "./log.ts";

describe("jsonLogger", () => {
  it("writes one JSON object per line with level, message and fields", () => {
    const lines: string[] = [];
    jsonLogger({ component: "verifier" }, (l) => lines.push(l)).child({ route: "a/b" }).warn("slow", { ms: 12n });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", msg: "slow", component: "verifier", route: "a/b", ms: "12" });
  });

  it("masks fields that look like secrets", () => {
    const lines: string[] = [];
    jsonLogger({}, (l) => lines.push(l)).info("loaded", { privateKey: "0xdeadbeef", settlementKeyFile: "/k", token: "abc", nested: { authorization: "Bearer x" } });
    expect(lines[0]).not.toContain("0xdeadbeef");
    expect(lines[0]).not.toContain("Bearer x");
    expect(lines[0]).not.toContain('"abc"');
  });
});
