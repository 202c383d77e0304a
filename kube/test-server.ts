// A scripted stand-in for the API server in adapter unit tests: it records every request
// (method, path, query, content type, body) and answers from a script, over real HTTP.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ClusterAccess } from "./kubeconfig.ts";

export type Recorded = { method: string; path: string; query: Record<string, string>; contentType?: string; authorization?: string; body?: unknown };
export type Reply = { status?: number; body?: unknown; stream?: (write: (line: unknown) => void, end: () => void) => void };
export type Script = (request: Recorded) => Reply | Promise<Reply>;

export async function startTestApiServer(script: Script) {
  const requests: Recorded[] = [];
  const open = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    let text = "";
    for await (const chunk of req) text += chunk;
    const recorded: Recorded = {
      method: req.method ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams),
      contentType: req.headers["content-type"], authorization: req.headers.authorization,
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(recorded);
    const reply = await script(recorded);
    res.writeHead(reply.status ?? 200, { "content-type": "application/json" });
    if (reply.stream) {
      res.flushHeaders();
      open.add(res);
      res.on("close", () => open.delete(res));
      reply.stream((line) => res.write(`${JSON.stringify(line)}\n`), () => res.end());
      return;
    }
    res.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const kubeConfig: ClusterAccess = { server: `http://127.0.0.1:${port}`, httpsOptions: async () => ({ headers: { authorization: "Bearer test-token" } }) };
  return {
    requests,
    kubeConfig,
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
