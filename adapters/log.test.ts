import { describe, expect, it } from "vitest";
import { jsonLogger, registerSecret } from "./log.ts";

const capture = () => {
  const lines: string[] = [];
  return { log: jsonLogger({}, (l) => lines.push(l)), lines };
};

describe("jsonLogger", () => {
  it("writes one JSON object per line with level, message and fields", () => {
    const lines: string[] = [];
    jsonLogger({ component: "verifier" }, (l) => lines.push(l)).child({ route: "a/b" }).warn("slow", { ms: 12n });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", msg: "slow", component: "verifier", route: "a/b", ms: "12" });
  });

  it("masks a registered secret wherever it appears: any field name, nested, inside a message", () => {
    const key = `0x${"5e".repeat(32)}`;
    registerSecret(key);
    registerSecret("sk-upstream-token-1");
    const { log, lines } = capture();
    log.error(`settlement failed with ${key.slice(2)}`, { detail: { cause: `bad key ${key}` }, header: "Bearer sk-upstream-token-1", list: ["sk-upstream-token-1"] });
    expect(lines[0]).not.toContain("5e5e5e5e");
    expect(lines[0]).not.toContain("sk-upstream-token-1");
    expect(JSON.parse(lines[0]!)).toMatchObject({ header: "Bearer [redacted]", list: ["[redacted]"] });
  });

  it("leaves a field named key alone: it names a route, not a secret", () => {
    const { log, lines } = capture();
    log.warn("route not admitted", { key: "shop/llm-payment", reason: "InvalidSpec", token: "USDC" });
    expect(JSON.parse(lines[0]!)).toMatchObject({ key: "shop/llm-payment", token: "USDC" });
  });

  it("masks the fields that only ever hold secrets even when nobody registered the value", () => {
    const { log, lines } = capture();
    log.info("careless", { authorization: "Bearer x", nested: { privateKey: "0xdeadbeef", password: "hunter2" } });
    expect(lines[0]).not.toMatch(/Bearer x|0xdeadbeef|hunter2/);
  });

  it("does not register values so short they would mask ordinary words", () => {
    registerSecret("abc");
    const { log, lines } = capture();
    log.info("abc", { word: "abc" });
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: "abc", word: "abc" });
  });
});
