// Child processes for tests: start one of our commands (or any script) on Node or Deno,
// wait until it is ready, keep its output for failure messages, and stop it for sure.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const bin = (name: string) => join(PROJECT_ROOT, "node_modules", ".bin", name);
export type Runtime = "node" | "deno";

export type Running = { child: ChildProcess; output(): string; stop(signal?: NodeJS.Signals): Promise<number | null>; exited: Promise<number | null> };

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export function command(runtime: Runtime, script: string, args: string[]): [string, string[]] {
  return runtime === "node" ? [bin("node"), [script, ...args]] : [bin("deno"), ["run", "--allow-all", script, ...args]];
}

/** Starts one of the project's scripts (main.ts, a test helper) on the given runtime. */
export function start(runtime: Runtime, script: string, args: string[], env: Record<string, string> = {}): Running {
  const [file, argv] = command(runtime, join(PROJECT_ROOT, script), args);
  return startProcess(file, argv, env);
}

/** Starts any program, keeping the tail of its output. */
export function startProcess(file: string, argv: string[], env: Record<string, string> = {}): Running {
  const child = spawn(file, argv, { cwd: PROJECT_ROOT, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => (running.delete(child), resolve(code))));
  return {
    child,
    output: () => output,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Polls until `check` resolves truthy; fails with the process output when it does not in time. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, proc?: Running): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (proc && proc.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached in ${timeoutMs} ms${last ? ` (last error: ${last})` : ""}${proc ? `\n--- output ---\n${proc.output()}` : ""}`);
}

export async function httpReady(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await response.body?.cancel();
  return response.ok;
}
