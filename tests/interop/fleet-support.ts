// A verifier fleet for the interop tests: N verifier processes (Node, and Deno for the last
// one) from one routes file, sharing a replay store when given, and an RPC in front of the
// chain that can hold back a settlement's broadcast, so a replica can be killed mid-settle.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { freePort } from "../../dev/free-port.ts";
import { httpReady, type Running, type Runtime, start, waitFor } from "../../dev/process.ts";

export type Replica = { name: string; base: string; process: Running; runtime: Runtime };

export async function startFleet(count: number, args: (replica: number) => string[], options: { deno?: boolean } = {}): Promise<Replica[]> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const port = await freePort();
    const runtime: Runtime = options.deno && i === count - 1 ? "deno" : "node";
    const name = `replica-${i}-${runtime}`;
    const process = start(runtime, "main.ts", ["verifier", "--listen", `127.0.0.1:${port}`, ...args(i)], { POD_NAME: name });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${name} ready`, () => httpReady(`${base}/readyz`), 60_000, process);
    return { name, base, process, runtime };
  }));
}

/** The request Traefik's ForwardAuth makes for `uri`, with the buyer's payment if any. */
export function forwardAuth(replica: Replica, uri: string, payment?: string): Promise<Response> {
  const headers: Record<string, string> = { "x-forwarded-uri": uri, "x-forwarded-host": "shop.example", "x-forwarded-proto": "http", "x-forwarded-method": "GET" };
  if (payment) headers["x-payment"] = payment;
  return fetch(`${replica.base}/verify`, { headers });
}

/**
 * JSON-RPC to the chain, except that while `holdSends` is on, a broadcast
 * (eth_sendRawTransaction) is held until `releaseSends` says whether it goes to the chain.
 */
export async function startHoldingRpc(target: string) {
  const state = { holdSends: false, sendsSeen: 0 };
  let held: ((forward: boolean) => void)[] = [];
  const server = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text);
    const calls: { method: string; id: unknown }[] = Array.isArray(body) ? body : [body];
    if (state.holdSends && calls.some((c) => c.method === "eth_sendRawTransaction")) {
      state.sendsSeen++;
      if (!(await new Promise<boolean>((resolve) => held.push(resolve)))) return void res.destroy();
    }
    const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: text });
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(await answer.text());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    /** Lets the held broadcasts go to the chain (true) or drops them (false). */
    releaseSends(forward: boolean) {
      for (const resolve of held) resolve(forward);
      held = [];
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
