// The pieces most interop tests start: the official facilitator on a chain, and a verifier
// process with an upstream and a ForwardAuth proxy in front of it, as Traefik would be.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Chain } from "../../dev/chain/chain.ts";
import { freePort } from "../../dev/free-port.ts";
import { httpReady, type Running, type Runtime, start, waitFor } from "../../dev/process.ts";
import { startForwardAuthProxy } from "./forward-auth-proxy.ts";
import { startUpstream } from "./upstream.ts";

/** The official x402 facilitator (tests/interop/facilitator-server.ts), settling with the chain's account 1 (its key written to `dir`). */
export async function startOfficialFacilitator(chain: Chain, dir: string): Promise<{ url: string; stop(): Promise<unknown> }> {
  const keyFile = join(dir, "facilitator.key");
  writeFileSync(keyFile, chain.accounts[1]!.privateKey);
  const official = start("node", "tests/interop/facilitator-server.ts", [chain.rpcUrl, keyFile]);
  try {
    const url = await waitFor("official facilitator", async () => /listening (\S+)/.exec(official.output())?.[1], 30_000, official);
    return { url, stop: () => official.stop() };
  } catch (error) {
    await official.stop();
    throw error;
  }
}

export type PaidService = {
  verifier: Running;
  verifyUrl: string;
  proxy: Awaited<ReturnType<typeof startForwardAuthProxy>>;
  upstream: Awaited<ReturnType<typeof startUpstream>>;
  stop(): Promise<void>;
};

/** `verifier --routes routesFile --listen ... <args>`, ready, behind a proxy for `/services/llm`. */
export async function startPaidService(routesFile: string, args: string[], runtime: Runtime = "node"): Promise<PaidService> {
  const port = await freePort();
  const verifier = start(runtime, "main.ts", ["verifier", "--routes", routesFile, "--listen", `127.0.0.1:${port}`, ...args]);
  const stops: (() => Promise<unknown>)[] = [() => verifier.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    await waitFor("verifier ready", () => httpReady(`http://127.0.0.1:${port}/readyz`), 30_000, verifier);
    const upstream = await startUpstream();
    stops.push(upstream.close);
    const verifyUrl = `http://127.0.0.1:${port}/verify`;
    const proxy = await startForwardAuthProxy({ verifyUrl, upstreamUrl: upstream.url, prefix: "/services/llm", authResponseHeaders: ["X-Payment-Response", "X-Payment-Payer"] });
    stops.push(proxy.close);
    return { verifier, verifyUrl, proxy, upstream, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
