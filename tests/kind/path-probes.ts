// The servers path-agreement.test.ts puts around real Traefik: recorders (the upstreams),
// the ForwardAuth spy in front of the verifier, and a raw HTTP/1.1 client that sends a
// target exactly as written.
import http from "node:http";
import net from "node:net";

/** Every request carries its probe id, so each spy record and upstream hit names its target. */
export const PROBE_HEADER = "x-probe-id";

export type Hit = { router: string; probe: string | undefined; url: string };
export type SpyRecord = { router: string; probe: string | undefined; forwardedUri: string | undefined; status: number; body: string };

export function listen(server: http.Server | net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
}
export const close = (server: http.Server) => new Promise<void>((resolve) => {
  server.closeAllConnections();
  server.close(() => resolve());
});
const header = (req: http.IncomingMessage, name: string) => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
};

/** An upstream that records every request (and every request it could not even parse). */
export function recorder(router: string, hits: Hit[]): http.Server {
  const server = http.createServer({ insecureHTTPParser: true }, (req, res) => {
    hits.push({ router, probe: header(req, PROBE_HEADER), url: req.url ?? "" });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ router, path: req.url }));
  });
  // Node refuses some requests Traefik forwards (raw UTF-8 in the query): still a hit, by its probe id.
  server.on("clientError", (error: Error & { rawPacket?: Buffer }, socket) => {
    const raw = error.rawPacket?.toString("latin1") ?? "";
    const probe = new RegExp(`\r\n${PROBE_HEADER}: *([^\r\n]*)`, "i").exec(raw)?.[1];
    hits.push({ router, probe, url: `<unparsable: ${error.message}> ${raw.slice(0, raw.indexOf("\r\n"))}` });
    socket.destroy();
  });
  return server;
}

/** ForwardAuth at /verify/<router>: records what Traefik sent, asks the verifier, answers what it said. */
export function spy(verifierPort: number, records: SpyRecord[]): http.Server {
  return http.createServer({ insecureHTTPParser: true }, (req, res) => {
    const router = (req.url ?? "").replace(/^\/verify\//, "");
    const record = (status: number, body: string) => records.push({ router, probe: header(req, PROBE_HEADER), forwardedUri: header(req, "x-forwarded-uri"), status, body });
    const fail = (error: unknown) => {
      record(599, `the spy could not ask the verifier: ${error}`);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    };
    try {
      const headers: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!.toLowerCase();
        if (name === "host" || name === "connection" || name === "content-length" || name === "transfer-encoding") continue;
        headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      }
      const upstream = http.request({ host: "127.0.0.1", port: verifierPort, method: "GET", path: "/verify", headers: [...headers, "Host", `127.0.0.1:${verifierPort}`], agent: false }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("error", fail);
        answer.on("end", () => {
          const body = Buffer.concat(chunks);
          record(answer.statusCode!, body.toString());
          const back: string[] = [];
          for (let i = 0; i < answer.rawHeaders.length; i += 2) {
            const name = answer.rawHeaders[i]!.toLowerCase();
            if (name === "connection" || name === "keep-alive" || name === "transfer-encoding" || name === "content-length") continue;
            back.push(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
          }
          res.writeHead(answer.statusCode!, [...back, "Content-Length", String(body.length)]);
          res.end(body);
        });
      });
      upstream.on("error", fail);
      upstream.end();
    } catch (error) {
      fail(error);
    }
  });
}

export type RawAnswer = { status: number; text: string };

/** One GET with the target exactly as written (UTF-8 bytes), over a fresh connection. */
export function rawGet(port: number, target: string, probe: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer in 15 s for ${JSON.stringify(target.slice(0, 200))}`)));
    socket.on("connect", () => socket.write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${PROBE_HEADER}: ${probe}\r\nConnection: close\r\n\r\n`, "utf8")));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!status) reject(new Error(`not an HTTP answer for ${JSON.stringify(target.slice(0, 200))}: ${JSON.stringify(text.slice(0, 200))}`));
      else resolve({ status: Number(status[1]), text });
    });
  });
}

export async function inParallel<T, R>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  }));
  return results;
}
