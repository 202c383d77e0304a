// A stand-in for Traefik in the interop tests (real Traefik comes in tests/kind), doing
// what REFERENCE §5 says ForwardAuth does: ask the auth server with the client's headers
// plus X-Forwarded-*; a non-2xx answer goes back to the client as it is; a 2xx copies
// only the authResponseHeaders onto the upstream request. The route's prefix is then
// replaced by "/", as the HTTPRoute's URLRewrite filter does.
import http from "node:http";
import type { AddressInfo } from "node:net";

export type ProxyOptions = { verifyUrl: string; upstreamUrl: string; prefix: string; authResponseHeaders: string[] };

export async function startForwardAuthProxy(options: ProxyOptions) {
  const paymentHeaders: string[] = [];
  const server = http.createServer(async (req, res) => {
    const uri = req.url ?? "/";
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers[name] = value;
    // trustForwardHeader: false: client-sent X-Forwarded-* are replaced.
    for (const name of Object.keys(headers)) if (name.startsWith("x-forwarded-")) delete headers[name];
    if (headers["x-payment"]) paymentHeaders.push(headers["x-payment"]);
    if (headers["payment-signature"]) paymentHeaders.push(headers["payment-signature"]);
    const auth = await fetch(options.verifyUrl, {
      method: "GET",
      headers: { ...headers, "x-forwarded-method": req.method ?? "GET", "x-forwarded-proto": "http", "x-forwarded-host": req.headers.host ?? "", "x-forwarded-uri": uri, "x-forwarded-for": "127.0.0.1" },
    });
    const authBody = Buffer.from(await auth.arrayBuffer());
    if (auth.status < 200 || auth.status >= 300) {
      const copied: Record<string, string> = {};
      auth.headers.forEach((value, name) => {
        if (!["content-length", "connection", "keep-alive", "transfer-encoding", "date"].includes(name)) copied[name] = value;
      });
      res.writeHead(auth.status, copied);
      res.end(authBody);
      return;
    }
    const upstreamHeaders = { ...headers };
    for (const name of options.authResponseHeaders.map((h) => h.toLowerCase())) {
      delete upstreamHeaders[name];
      const value = auth.headers.get(name);
      if (value !== null) upstreamHeaders[name] = value;
    }
    delete upstreamHeaders.host;
    const rest = uri.startsWith(options.prefix) ? uri.slice(options.prefix.length) : uri;
    const upstream = await fetch(options.upstreamUrl + (rest.startsWith("/") ? rest : `/${rest}`), { method: req.method, headers: upstreamHeaders });
    const body = Buffer.from(await upstream.arrayBuffer());
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/octet-stream" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, paymentHeaders, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}
