// The seller's service in the real-cluster tests, run inside a test host's network
// namespace. It answers every request with what it saw (path, Authorization, payer), so
// a test can check what reached it through Traefik; paths ending in /fail answer 500; and
// POST /v1/chat/completions answers like an OpenAI-compatible model (12 prompt tokens, the
// body's "completion" completion tokens), streamed when asked (pausing "pause_ms" before its
// last event), with its usage.
// Usage: upstream-server.ts ADDRESS PORT
import http from "node:http";

const [address, port] = process.argv.slice(2);
const server = http.createServer(async (req, res) => {
  let text = "";
  for await (const chunk of req) text += chunk;
  if (req.url?.endsWith("/fail")) return void (res.writeHead(500, { "content-type": "application/json" }), res.end('{"error":"model crashed"}'));
  if (req.method === "POST" && req.url === "/v1/chat/completions") {
    const body = JSON.parse(text || "{}") as { stream?: boolean; stream_options?: { include_usage?: boolean }; completion?: number; pause_ms?: number };
    const completion = body.completion ?? 20;
    const usage = { prompt_tokens: 12, completion_tokens: completion, total_tokens: 12 + completion };
    if (!body.stream) return void (res.writeHead(200, { "content-type": "application/json" }), res.end(JSON.stringify({ choices: [{ message: { content: "ok" } }], usage })));
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const piece of ["o", "k"]) res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: piece } }] })}\n\n`);
    // A model still thinking before its last event: a buyer may leave in between.
    if (body.pause_ms) await new Promise((r) => setTimeout(r, Math.min(body.pause_ms!, 10_000)));
    if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({ choices: [], usage })}\n\n`);
    return void res.end("data: [DONE]\n\n");
  }
  const seen = JSON.stringify({ path: req.url, authorization: req.headers.authorization ?? null, payer: req.headers["x-payment-payer"] ?? null, paymentResponse: req.headers["x-payment-response"] ?? null });
  res.writeHead(200, { "content-type": "application/json" });
  res.end(seen);
});
server.listen(Number(port), address, () => console.log(`listening ${address}:${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
