// Load from a separate process: autocannon (from npm, so a fresh clone has it), the same
// connections and duration for every side.
import { spawn } from "node:child_process";
import { bin } from "../dev/process.ts";

export type LoadResult = { rps: number; errors: number; non2xx: number; total: number; p50Ms: number };

export async function load(url: string, headers: Record<string, string>, options = { connections: 32, seconds: 4 }): Promise<LoadResult> {
  const args = [bin("autocannon"), "-j", "-c", String(options.connections), "-d", String(options.seconds), ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}=${v}`]), url];
  const child = spawn(bin("node"), args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  if (code !== 0) throw new Error(`autocannon failed (${code})`);
  const report = JSON.parse(out) as { requests: { average: number; total: number }; errors: number; non2xx: number; latency: { p50: number } };
  return { rps: report.requests.average, errors: report.errors, non2xx: report.non2xx, total: report.requests.total, p50Ms: report.latency.p50 };
}
