// The verifier's unpaid path under load, against bare servers answering the same 402 bytes
// (node:http on Node, Deno.serve on Deno), and against the official @x402/hono middleware
// guarding the same route. Two kinds of figure: req/s ratios (what a client sees; on this
// 2-core machine they measure the load generator too) and CPU per answer (what the server
// spends: its utime + stime over the answers it gave, from /proc).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../dev/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../dev/process.ts";
import { cpuMs } from "./cpu-time.ts";
import { load, type LoadResult } from "./http-load.ts";
import { figure, type Figure, round } from "./stats.ts";

const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const HOP_BY_HOP = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"]);

function check(name: string, r: LoadResult): void {
  if (r.errors > 0 || r.non2xx !== r.total) throw new Error(`${name}: expected only 402s, got ${r.errors} errors and ${r.total - r.non2xx} 2xx`);
}

export async function verifierHttpFigures(rounds: number): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), "x402-bench-"));
  const processes: Running[] = [];
  try {
    writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop}
spec: {pattern: "/services/llm/*", price: "0.001", amount: "1000", payTo: "${PAY_TO}", network: base-sepolia, priceModel: perRequest}
`);
    const [verifierPort, verifierDenoPort, barePort, bareDenoPort, honoPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const verifierArgs = (port: number) => ["verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${port}`, "--facilitator", "local", "--rpc", "base-sepolia=http://127.0.0.1:1", "--verify-only"];
    const verifier = start("node", "main.ts", verifierArgs(verifierPort));
    const verifierDeno = start("deno", "main.ts", verifierArgs(verifierDenoPort));
    processes.push(verifier, verifierDeno);
    await waitFor("verifier", () => httpReady(`http://127.0.0.1:${verifierPort}/readyz`), 30_000, verifier);
    await waitFor("verifier on Deno", () => httpReady(`http://127.0.0.1:${verifierDenoPort}/readyz`), 30_000, verifierDeno);
    const forwarded = { "X-Forwarded-Uri": "/services/llm/v1/chat", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com" };
    const sample = await fetch(`http://127.0.0.1:${verifierPort}/verify`, { headers: forwarded });
    const headers: Record<string, string> = {};
    sample.headers.forEach((value, name) => void (HOP_BY_HOP.has(name) || (headers[name] = value)));
    writeFileSync(join(dir, "answer.json"), JSON.stringify({ status: sample.status, headers, body: await sample.text() }));
    const bare = start("node", "bench/servers/bare-402.ts", [String(barePort), join(dir, "answer.json")]);
    const bareDeno = start("deno", "bench/servers/bare-402-deno.ts", [String(bareDenoPort), join(dir, "answer.json")]);
    const hono = start("node", "bench/servers/x402-hono.ts", [String(honoPort), PAY_TO]);
    processes.push(bare, bareDeno, hono);
    await waitFor("baselines", async () => [bare, bareDeno, hono].every((p) => p.output().includes("listening")), 30_000);
    const honoUrl = `http://127.0.0.1:${honoPort}/services/llm/v1/chat`;
    // Each server answers once before it is measured: compilation is not what we measure.
    for (const url of [`http://127.0.0.1:${verifierDenoPort}/verify`, `http://127.0.0.1:${bareDenoPort}/verify`]) await load(url, forwarded, { connections: 32, seconds: 1 });
    // One load per server per round: its answers per second and the server's CPU per answer.
    const measured = async (name: string, server: Running, url: string, headers: Record<string, string>) => {
      const before = cpuMs(server.child.pid!);
      const result = await load(url, headers);
      const spent = cpuMs(server.child.pid!) - before;
      check(name, result);
      return { rps: result.rps, us: (spent * 1000) / result.total };
    };
    const cpu = { verifier: [] as number[], verifierDeno: [] as number[], bare: [] as number[], bareDeno: [] as number[], hono: [] as number[] };
    const rps = { verifier: [] as number[], bare: [] as number[], hono: [] as number[] };
    const vsBare: number[] = [];
    const vsHono: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const b = await measured("bare", bare, `http://127.0.0.1:${barePort}/verify`, forwarded);
      const v = await measured("verifier", verifier, `http://127.0.0.1:${verifierPort}/verify`, forwarded);
      const h = await measured("hono", hono, honoUrl, {});
      const bd = await measured("bare on Deno", bareDeno, `http://127.0.0.1:${bareDenoPort}/verify`, forwarded);
      const vd = await measured("verifier on Deno", verifierDeno, `http://127.0.0.1:${verifierDenoPort}/verify`, forwarded);
      for (const [name, r] of [["bare", b], ["verifier", v], ["hono", h]] as const) rps[name].push(r.rps);
      for (const [name, r] of [["bare", b], ["verifier", v], ["hono", h], ["bareDeno", bd], ["verifierDeno", vd]] as const) cpu[name].push(r.us);
      vsBare.push(v.rps / b.rps);
      vsHono.push(v.rps / h.rps);
    }
    const perAnswer = (k: keyof typeof cpu) => `${k} ${round(Math.min(...cpu[k]), 1)}..${round(Math.max(...cpu[k]), 1)} µs`;
    const ratios = (a: keyof typeof cpu, b: (i: number) => number) => cpu[a].map((x, i) => round(x / b(i)));
    const note = (k: keyof typeof rps) => `${k} ${Math.round(Math.min(...rps[k]))}..${Math.round(Math.max(...rps[k]))} req/s`;
    return [
      figure("verifier_402_vs_bare", "verifier 402 req/s / bare node:http 402 req/s", ">= 0.75", vsBare.map((x) => round(x)), { note: `${note("verifier")}; ${note("bare")}` }),
      figure("verifier_402_vs_x402_hono", "verifier 402 req/s / @x402/hono 402 req/s", ">= 4", vsHono.map((x) => round(x)), { note: note("hono") }),
      figure("verifier_cpu_per_402_vs_bare_node", "server CPU per unpaid 402: verifier on Node / bare node:http", "<= 1.25", ratios("verifier", (i) => cpu.bare[i]!), { note: `${perAnswer("verifier")}; ${perAnswer("bare")}` }),
      figure("verifier_cpu_per_402_vs_bare_deno", "server CPU per unpaid 402: verifier on Deno / bare Deno.serve", "<= 1.3", ratios("verifierDeno", (i) => cpu.bareDeno[i]!), { note: `${perAnswer("verifierDeno")}; ${perAnswer("bareDeno")}` }),
      figure("x402_hono_cpu_per_402_vs_ours", "server CPU per unpaid 402: @x402/hono on Node / our verifier on its cheaper runtime", ">= 6", ratios("hono", (i) => Math.min(cpu.verifier[i]!, cpu.verifierDeno[i]!)), { note: perAnswer("hono") }),
    ];
  } finally {
    for (const p of processes) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
