// Traefik (Go) and the verifier must read a request's path the same way: the verifier may
// refuse a path (400, 414), but never find it cheaper, or free, than the prefix Traefik
// routed it under. Real Traefik with its file provider serves routers shaped like the ones
// its Gateway API provider makes of our HTTPRoutes; each priced router's ForwardAuth goes
// through a spy (which router, which X-Forwarded-Uri) to the real verifier (routes file);
// every upstream records what reached it. A few hundred raw request targets, generated from
// a fixed seed and sent over plain sockets (nothing normalizes them on the client side),
// are checked against what Traefik actually did with each.
import fs from "node:fs";
import type http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../dev/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../../dev/process.ts";
import { ensureBinaries } from "../../dev/binaries.ts";
import { generateTargets, HAND_PICKED } from "./path-corpus.ts";
import { close, type Hit, inParallel, listen, recorder, rawGet, spy, type SpyRecord } from "./path-probes.ts";
import { type DynamicConfig, type FileTraefik, gatewayPathPrefix, startFileTraefik, WEB } from "./traefik-file.ts";

const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
/** The priced routers: the prefix Traefik routes, the verifier's pattern and price for it. */
const PRICED = {
  api: { prefix: "/api", pattern: "/api/*", price: "0.005", atomic: 5000n },
  premium: { prefix: "/api/premium", pattern: "/api/premium/*", price: "0.09", atomic: 90000n },
  reports: { prefix: "/reports", pattern: "/reports/*", price: "0.0007", atomic: 700n },
} as const;
type PricedRouter = keyof typeof PRICED;
const FREE = "free";
type RouterName = PricedRouter | typeof FREE;
const ROUTERS: RouterName[] = [...Object.keys(PRICED) as PricedRouter[], FREE];
const isPriced = (router: string): router is PricedRouter => router in PRICED;

// ---------------------------------------------------------------------------------------

const short = (text: string) => (text.length > 120 ? `${text.slice(0, 60)}...(${text.length} chars)...${text.slice(-40)}` : text);

describe("path agreement: real Traefik and the verifier read every request path alike", () => {
  let dir = "";
  let verifier: Running;
  let traefik: FileTraefik;
  const servers: http.Server[] = [];
  const hits: Hit[] = [];
  const spied: SpyRecord[] = [];

  beforeAll(async () => {
    const bins = await ensureBinaries();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "x402-path-agreement-"));
    const routesFile = path.join(dir, "routes.yaml");
    fs.writeFileSync(routesFile, Object.entries(PRICED).map(([name, r]) => `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: ${name}, namespace: shop}
spec: {pattern: "${r.pattern}", price: "${r.price}", payTo: "${PAY_TO}", network: base-sepolia}
`).join("---\n"));
    const verifierPort = await freePort();
    verifier = start("node", "main.ts", ["verifier", "--routes", routesFile, "--listen", `127.0.0.1:${verifierPort}`, "--facilitator", "https://facilitator.invalid"]);
    await waitFor("verifier ready", () => httpReady(`http://127.0.0.1:${verifierPort}/readyz`), 30_000, verifier);

    const spyServer = spy(verifierPort, spied);
    servers.push(spyServer);
    const spyPort = await listen(spyServer);
    const recorderPorts: Record<string, number> = {};
    for (const router of ROUTERS) {
      const server = recorder(router, hits);
      servers.push(server);
      recorderPorts[router] = await listen(server);
    }

    // What the Gateway API provider makes of an HTTPRoute per prefix (without the prefix
    // rewrite, so the verifier prices the same path Traefik routes on), plus a free catch-all.
    const config: DynamicConfig = { http: { routers: {}, middlewares: {}, services: {} } };
    for (const router of ROUTERS) {
      const rule = gatewayPathPrefix(isPriced(router) ? PRICED[router].prefix : "/");
      config.http.routers[router] = { ...rule, entryPoints: [WEB], service: `${router}-upstream`, ...(isPriced(router) ? { middlewares: [`${router}-x402`] } : {}) };
      config.http.services[`${router}-upstream`] = { loadBalancer: { servers: [{ url: `http://127.0.0.1:${recorderPorts[router]}` }] } };
      if (isPriced(router)) config.http.middlewares![`${router}-x402`] = { forwardAuth: { address: `http://127.0.0.1:${spyPort}/verify/${router}`, trustForwardHeader: false } };
    }
    traefik = await startFileTraefik(bins.traefik, config, dir);
    // The routers are enabled; wait until each one answers as it should through the whole chain.
    const expected: [string, string][] = [["/api/x", "402 5000"], ["/api/premium/x", "402 90000"], ["/reports/q3.pdf", "402 700"], ["/elsewhere", "200"]];
    await waitFor("Traefik serving every router", async () => {
      for (const [target, want] of expected) {
        const answer = await rawGet(traefik.port, target, "ready");
        const got = answer.status === 402 ? `402 ${JSON.parse(answer.text.slice(answer.text.indexOf("\r\n\r\n") + 4)).accepts[0].maxAmountRequired}` : String(answer.status);
        if (got !== want) return false;
      }
      return true;
    }, 30_000, traefik.process);
  });

  afterAll(async () => {
    await traefik?.stop();
    await verifier?.stop();
    await Promise.all(servers.map(close));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("never finds a path cheaper (or free) than the prefix Traefik routed it under", async () => {
    const targets = [...new Set([...generateTargets(0x402, 420), ...HAND_PICKED])];
    expect(targets.length).toBeGreaterThanOrEqual(400);
    const answers = await inParallel(targets, 8, (target, index) => rawGet(traefik.port, target, `p${index}`));

    const violations: string[] = [];
    const dearer: string[] = [];
    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const spiedBy = Map.groupBy(spied, (r) => r.probe ?? "?");
    const hitsBy = Map.groupBy(hits, (h) => h.probe ?? "?");
    const notes: string[] = [];

    targets.forEach((target, index) => {
      const probe = `p${index}`;
      const client = answers[index]!.status;
      const asked = spiedBy.get(probe) ?? [];
      const reached = hitsBy.get(probe) ?? [];
      const where = `target ${JSON.stringify(short(target))}`;
      if (asked.length > 1) violations.push(`${where}: ForwardAuth called ${asked.length} times`);
      for (const hit of reached) {
        if (isPriced(hit.router)) violations.push(`${where}: reached the upstream of priced router ${hit.router} unpaid as ${JSON.stringify(short(hit.url))}`);
      }
      const auth = asked[0];
      if (!auth) {
        const router = reached[0]?.router;
        count(router ? `${router} (no verifier) -> client ${client}` : `traefik alone -> client ${client}`);
        if (!router) notes.push(`${short(target)} -> Traefik alone answered ${client}`);
        if (router === FREE) notes.push(`${short(target)} -> free upstream got ${JSON.stringify(short(reached[0]!.url))}`);
        return;
      }
      count(`${auth.router} verifier ${auth.status} -> client ${client}`);
      const forwarded = `Traefik routed it under ${auth.router} with X-Forwarded-Uri ${JSON.stringify(short(auth.forwardedUri ?? "<none>"))}`;
      if (!isPriced(auth.router)) {
        violations.push(`${where}: ForwardAuth from unknown router ${auth.router}`);
        return;
      }
      if (client !== auth.status) violations.push(`${where}: ${forwarded}; the verifier answered ${auth.status} but the client got ${client}`);
      if (auth.status === 402) {
        const amount = BigInt((JSON.parse(auth.body) as { accepts: { maxAmountRequired: string }[] }).accepts[0]!.maxAmountRequired);
        const price = PRICED[auth.router].atomic;
        if (amount < price) violations.push(`${where}: ${forwarded}; the verifier asked ${amount}, less than ${auth.router}'s ${price}`);
        else if (amount > price) dearer.push(`${where}: ${forwarded}; the verifier asked ${amount} (> ${price})`);
      } else if (auth.status !== 400 && auth.status !== 414) {
        violations.push(`${where}: ${forwarded}; the verifier answered ${auth.status} ${short(auth.body)}`);
      }
    });
    const strays = hits.filter((h) => isPriced(h.router) && !h.probe?.startsWith("p"));
    for (const stray of strays) violations.push(`the upstream of priced router ${stray.router} got ${JSON.stringify(short(stray.url))} (probe ${stray.probe})`);

    const table = [...outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `  ${String(n).padStart(4)}  ${key}`).join("\n");
    console.log(`path agreement: ${targets.length} targets\n${table}`);
    if (dearer.length) console.log(`priced higher than the prefix Traefik routed under (${dearer.length}):\n  ${dearer.join("\n  ")}`);
    if (process.env.X402_PATH_AGREEMENT_VERBOSE) {
      console.log(`not through the verifier:\n  ${notes.join("\n  ")}`);
      console.log(`unparsable at an upstream:\n  ${hits.filter((h) => h.probe === undefined).map((h) => `${h.router}: ${h.url}`).join("\n  ")}`);
      console.log(`forwarded:\n  ${spied.filter((r) => r.probe?.startsWith("p")).map((r) => `${r.router} ${r.status} ${JSON.stringify(short(targets[Number(r.probe!.slice(1))]!))} -> ${JSON.stringify(short(r.forwardedUri ?? ""))}`).join("\n  ")}`);
    }

    expect(violations, `${violations.length} violations:\n${violations.join("\n")}`).toEqual([]);
    expect(verifier.child.exitCode, verifier.output()).toBeNull();
    expect(verifier.child.signalCode).toBeNull();

    // Not vacuous: every kind of outcome happened.
    const had = (pattern: RegExp) => [...outcomes].filter(([key]) => pattern.test(key)).reduce((n, [, c]) => n + c, 0);
    for (const router of Object.keys(PRICED)) expect(had(new RegExp(`^${router} verifier 402 `)), `402s via ${router}`).toBeGreaterThan(0);
    expect(had(/ verifier 400 /), "verifier refusals (400)").toBeGreaterThan(0);
    expect(had(/ verifier 414 /), "verifier refusals (414)").toBeGreaterThan(0);
    expect(had(/^free \(no verifier\) -> client 200$/), "free via the catch-all").toBeGreaterThan(0);
    expect(had(/^traefik alone -> client 4\d\d$/), "refused by Traefik itself").toBeGreaterThan(0);
  });
});
