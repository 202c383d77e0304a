// The verifier's unpaid path under load, against a bare node:http server answering the
// same 402 bytes, and against the official @x402/hono middleware guarding the same route.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../dev/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../dev/process.ts";
import { load } from "./http-load.ts";
import { figure, type Figure, round } from "./stats.ts";

const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const HOP_BY_HOP = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"]);

export async function verifierHttpFigures(rounds: number): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), "x402-bench-"));
  const processes: Running[] = [];
  try {
    writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop}
spec: {pattern: "/services/llm/*", price: "0.001", amount: "1000", payTo: "${PAY_TO}", network: base-sepolia, priceModel: perRequest}
`);
    const [verifierPort, barePort, honoPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const verifier = start("node", "main.ts", ["verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${verifierPort}`, "--facilitator", "local", "--rpc", "base-sepolia=http://127.0.0.1:1", "--verify-only"]);
    processes.push(verifier);
    await waitFor("verifier", () => httpReady(`http://127.0.0.1:${verifierPort}/readyz`), 30_000, verifier);
    const forwarded = { "X-Forwarded-Uri": "/services/llm/v1/chat", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com" };
    const sample = await fetch(`http://127.0.0.1:${verifierPort}/verify`, { headers: forwarded });
    const headers: Record<string, string> = {};
    sample.headers.forEach((value, name) => void (HOP_BY_HOP.has(name) || (headers[name] = value)));
    writeFileSync(join(dir, "answer.json"), JSON.stringify({ status: sample.status, headers, body: await sample.text() }));
    const bare = start("node", "bench/servers/bare-402.ts", [String(barePort), join(dir, "answer.json")]);
    const hono = start("node", "bench/servers/x402-hono.ts", [String(honoPort), PAY_TO]);
    processes.push(bare, hono);
    await waitFor("baselines", async () => bare.output().includes("listening") && hono.output().includes("listening"), 30_000);

    const vsBare: number[] = [];
    const vsHono: number[] = [];
    const rps = { verifier: [] as number[], bare: [] as number[], hono: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      const b = await load(`http://127.0.0.1:${barePort}/verify`, forwarded);
      const v = await load(`http://127.0.0.1:${verifierPort}/verify`, forwarded);
      const h = await load(`http://127.0.0.1:${honoPort}/services/llm/v1/chat`, {});
      for (const [name, r] of [["bare", b], ["verifier", v], ["hono", h]] as const) {
        if (r.errors > 0 || r.non2xx !== r.total) throw new Error(`${name}: expected only 402s, got ${r.errors} errors and ${r.total - r.non2xx} 2xx`);
        rps[name].push(r.rps);
      }
      vsBare.push(v.rps / b.rps);
      vsHono.push(v.rps / h.rps);
    }
    const note = (k: keyof typeof rps) => `${k} ${Math.round(Math.min(...rps[k]))}..${Math.round(Math.max(...rps[k]))} req/s`;
    return [
      figure("verifier_402_vs_bare", "verifier 402 req/s / bare node:http 402 req/s", ">= 0.75", vsBare.map((x) => round(x)), { note: `${note("verifier")}; ${note("bare")}` }),
      figure("verifier_402_vs_x402_hono", "verifier 402 req/s / @x402/hono 402 req/s", ">= 4", vsHono.map((x) => round(x)), { note: note("hono") }),
    ];
  } finally {
    for (const p of processes) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
