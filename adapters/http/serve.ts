// Serves a fetch handler (a hono app) on whichever runtime we run on: Deno's own server
// under Deno, @hono/node-server under Node.
import type { AddressInfo } from "node:net";
import { serve as serveNode } from "@hono/node-server";

export type Listening = { hostname: string; port: number; close(): Promise<void> };
type Fetch = (request: Request) => Response | Promise<Response>;

declare const Deno: { serve(options: { hostname: string; port: number; onListen?: (a: { hostname: string; port: number }) => void }, handler: Fetch): { finished: Promise<void>; shutdown(): Promise<void>; addr: { hostname: string; port: number } } } | undefined;

export async function serveFetch(fetch: Fetch, hostname: string, port: number): Promise<Listening> {
  if (typeof Deno !== "undefined") {
    const server = Deno.serve({ hostname, port, onListen: () => {} }, fetch);
    return { hostname: server.addr.hostname, port: server.addr.port, close: () => server.shutdown() };
  }
  return await new Promise<Listening>((resolve, reject) => {
    const server = serveNode({ fetch, hostname, port }, (info: AddressInfo) => {
      resolve({
        hostname: info.address,
        port: info.port,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
      });
    });
    server.once("error", reject);
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
