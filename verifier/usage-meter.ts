// What an OpenAI-compatible upstream says it used: `usage` in a JSON answer, or in the last
// server-sent event that carries one (sent when the request asks with
// stream_options.include_usage, which the data path adds for metered requests). Tokens are
// prompt plus completion.

/** The tokens a `usage` object reports, or undefined when it reports none. */
export function tokensOf(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const usage = (value as { usage?: unknown }).usage;
  if (typeof usage !== "object" || usage === null) return undefined;
  const { total_tokens: total, prompt_tokens: prompt, completion_tokens: completion } = usage as Record<string, unknown>;
  const count = (n: unknown) => (typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined);
  if (count(total) !== undefined) return count(total);
  if (count(prompt) !== undefined || count(completion) !== undefined) return (count(prompt) ?? 0) + (count(completion) ?? 0);
  return undefined;
}

/** The tokens a JSON answer reports, or undefined. */
export function usageOfJson(text: string): number | undefined {
  try {
    return tokensOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** A line longer than this is not a usage event (those are a few hundred bytes): not scanned. */
const MAX_LINE = 1 << 20;

/** Reads a stream of server-sent events as it passes, remembering the last usage reported. */
export function sseUsageMeter() {
  const decoder = new TextDecoder();
  let line = "";
  let skipping = false;
  let tokens: number | undefined;
  const take = (text: string) => {
    if (!text.startsWith("data:")) return;
    const data = text.slice(5).trim();
    if (data === "" || data === "[DONE]") return;
    const found = usageOfJson(data);
    if (found !== undefined) tokens = found;
  };
  return {
    feed(chunk: Uint8Array) {
      const text = decoder.decode(chunk, { stream: true });
      let start = 0;
      for (let end = text.indexOf("\n", start); end >= 0; end = text.indexOf("\n", start)) {
        if (!skipping) take((line + text.slice(start, end)).replace(/\r$/, ""));
        line = "";
        skipping = false;
        start = end + 1;
      }
      if (!skipping) line += text.slice(start);
      if (line.length > MAX_LINE) {
        line = "";
        skipping = true;
      }
    },
    /** The last usage seen so far (after the stream ended: the answer's). */
    get tokens() {
      return tokens;
    },
  };
}

/**
 * A metered request's body as the upstream gets it: a streamed request asks for its usage
 * (stream_options.include_usage), which the buyer's client may not have done.
 */
export function askForUsage(body: Record<string, unknown>): Record<string, unknown> {
  if (body.stream !== true) return body;
  const options = typeof body.stream_options === "object" && body.stream_options !== null ? body.stream_options as Record<string, unknown> : {};
  return options.include_usage === true ? body : { ...body, stream_options: { ...options, include_usage: true } };
}
