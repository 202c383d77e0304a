import { describe, expect, it } from "vitest";
import { askForUsage, sseUsageMeter, tokensOf, usageOfJson } from "./usage-meter.ts";

describe("usage from an OpenAI-compatible answer", () => {
  it("reads total tokens, or prompt plus completion, and nothing else", () => {
    expect(tokensOf({ usage: { total_tokens: 42, prompt_tokens: 1 } })).toBe(42);
    expect(tokensOf({ usage: { prompt_tokens: 10, completion_tokens: 5 } })).toBe(15);
    for (const value of [{}, { usage: null }, { usage: { total_tokens: -1 } }, { usage: { total_tokens: 1.5 } }, { usage: { total_tokens: "9" } }, null, 7]) {
      expect(tokensOf(value)).toBeUndefined();
    }
    expect(usageOfJson("not json")).toBeUndefined();
  });

  it("finds the last usage in a stream of events however the bytes are split, skipping [DONE] and oversized lines", () => {
    const events = `data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\r\n\r\ndata: [DONE]\n\n`;
    const bytes = new TextEncoder().encode(events);
    for (const size of [1, 3, 7, bytes.length]) {
      const meter = sseUsageMeter();
      for (let at = 0; at < bytes.length; at += size) meter.feed(bytes.slice(at, at + size));
      expect(meter.tokens).toBe(10);
    }
    const meter = sseUsageMeter();
    meter.feed(new TextEncoder().encode(`data: ${"x".repeat((1 << 20) + 10)}`));
    meter.feed(new TextEncoder().encode(`\ndata: {"usage":{"total_tokens":5}}\n`));
    expect(meter.tokens).toBe(5);
  });

  it("asks a streamed request for its usage, and leaves others as they are", () => {
    expect(askForUsage({ stream: true, model: "m" })).toEqual({ stream: true, model: "m", stream_options: { include_usage: true } });
    expect(askForUsage({ stream: true, stream_options: { other: 1 } })).toEqual({ stream: true, stream_options: { other: 1, include_usage: true } });
    const plain = { model: "m" };
    expect(askForUsage(plain)).toBe(plain);
  });
});
