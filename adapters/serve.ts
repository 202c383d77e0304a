// Serves a fetch handler (a hono app) on whichever runtime we run on: Deno's own server
// under Deno, @hono/node-server under Node.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";

export type Listening = { hostname: string; port: number; close(): Promise<void> };
type Fetch = (request: Request) => Response | Promise<Response>;

declare const Deno: { serve(options: { hostname: string; port: number; onListen?: (a: { hostname: string; port: number }) => void }, handler: Fetch): { finished: Promise<void>; shutdown(): Promise<void>; addr: { hostname: string; port: number } } } | undefined;

/** Node only: handles a request itself (true) or leaves it to the fetch handler (false). */
export type FastPath = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
/** Deno only: answers a request itself, or leaves it to the fetch handler (undefined). */
export type FetchFastPath = (request: Request) => Response | Promise<Response> | undefined;

/** The hot path of each runtime's own server, beside the app that serves everything else. */
export type FastPaths = { node?: FastPath; deno?: FetchFastPath };

export async function serveFetch(fetch: Fetch, hostname: string, port: number, fast: FastPaths = {}): Promise<Listening> {
  if (typeof Deno !== "undefined") {
    const deno = fast.deno;
    const server = Deno.serve({ hostname, port, onListen: () => {} }, deno ? (request) => deno(request) ?? fetch(request) : fetch);
    return { hostname: server.addr.hostname, port: server.addr.port, close: () => server.shutdown() };
  }
  const listener = getRequestListener(fetch);
  const server = http.createServer((req, res) => {
    if (!fast.node?.(req, res)) void listener(req, res);
  });
  server.keepAliveTimeout = 65_000; // longer than Traefik's idle timeout, so it never reuses a closed connection
  return await new Promise<Listening>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      const info = server.address() as AddressInfo;
      resolve({
        hostname: info.address,
        port: info.port,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}

/** "host:port" or ":port" or "port". */
export function parseListen(text: string): { hostname: string; port: number } | undefined {
  const match = /^(?:(.*):)?(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { hostname: (match[1] ?? "").replace(/^\[|\]$/g, "") || "0.0.0.0", port };
}
