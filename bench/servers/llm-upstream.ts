// An OpenAI-compatible service that answers like a model: its first token after TTFT_MS,
// then TOKENS more, one every TOKEN_MS, and its usage last. Usage: llm-upstream.ts PORT
import http from "node:http";

export const TTFT_MS = 150;
export const TOKEN_MS = 5;
export const TOKENS = 100;

const port = Number(process.argv[2] ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const server = http.createServer(async (req, res) => {
  for await (const _ of req) void _;
  res.writeHead(200, { "content-type": "text/event-stream" });
  await sleep(TTFT_MS);
  for (let i = 0; i < TOKENS; i++) {
    if (!res.write(`data: {"choices":[{"delta":{"content":"t${i}"}}]}\n\n`)) await new Promise((r) => res.once("drain", r));
    if (i < TOKENS - 1) await sleep(TOKEN_MS);
  }
  res.end(`data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":${TOKENS}}}\n\ndata: [DONE]\n\n`);
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => console.log(`listening ${(server.address() as { port: number }).port}`));
