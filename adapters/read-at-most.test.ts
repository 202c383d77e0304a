import { describe, expect, it } from "vitest";
import { readAtMost } from "./read-at-most.ts";

const streamOf = (...chunks: string[]) => new Response(chunks.join("")).body!;

describe("readAtMost", () => {
  it("reads a body up to its bound, and refuses one past it, cancelling the rest", async () => {
    expect(new TextDecoder().decode(await readAtMost(streamOf("abc", "def"), 6))).toBe("abcdef");
    expect(await readAtMost(streamOf("abcdefg"), 6)).toBeUndefined();
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(new Uint8Array(100)), cancel: () => void (cancelled = true) });
    expect(await readAtMost(endless, 1000)).toBeUndefined();
    expect(cancelled).toBe(true);
  });
});
