// The controller and the verifier run here under the memory limit their Deployment in
// manifests/ gives them, the way the kubelet runs a container: in a memory cgroup of that
// size, which Node reads at start to size its heap (without one, V8 sizes it from the
// machine's 24 GiB). Where no memory cgroup can be made (not root, no memory controller),
// they run unconstrained, and `memoryCgroup` says so by returning undefined.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT } from "./process.ts";

const UNITS: Record<string, number> = { "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 };

/** limits.memory of the component's container in manifests/<component>/deployment.yaml, in bytes. */
export function deploymentMemoryLimit(component: "controller" | "verifier"): number {
  const deployment = parse(readFileSync(join(PROJECT_ROOT, "manifests", component, "deployment.yaml"), "utf8")) as {
    spec: { template: { spec: { containers: { resources?: { limits?: { memory?: string } } }[] } } };
  };
  const text = deployment.spec.template.spec.containers[0]?.resources?.limits?.memory ?? "";
  const match = /^(\d+)(Ki|Mi|Gi|K|M|G|)$/.exec(text);
  if (!match) throw new Error(`manifests/${component}/deployment.yaml: no readable limits.memory (${text})`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

export type MemoryCgroup = { path: string; wrap(file: string, argv: string[]): [string, string[]]; remove(): void };

export function memoryCgroup(name: string, bytes: number): MemoryCgroup | undefined {
  const own = readFileSync("/proc/self/cgroup", "utf8").split("\n");
  const v1 = own.map((line) => /^\d+:memory:(.*)$/.exec(line)?.[1]).find((p) => p !== undefined);
  const v2 = own.map((line) => /^0::(.*)$/.exec(line)?.[1]).find((p) => p !== undefined);
  const [base, limitFile] = v1 !== undefined && existsSync("/sys/fs/cgroup/memory")
    ? [join("/sys/fs/cgroup/memory", v1), "memory.limit_in_bytes"]
    : v2 !== undefined && readFileSync("/sys/fs/cgroup/cgroup.controllers", { encoding: "utf8", flag: "r" }).includes("memory")
    ? [join("/sys/fs/cgroup", v2), "memory.max"]
    : [undefined, undefined];
  if (!base || !limitFile) return undefined;
  const path = join(base, `x402-${name}-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(path);
    writeFileSync(join(path, limitFile), String(bytes));
  } catch {
    return undefined;
  }
  return {
    path,
    // The shell joins the cgroup, then becomes the program (same pid), so it starts inside.
    wrap: (file, argv) => ["sh", ["-c", `echo $$ > "${join(path, "cgroup.procs")}" && exec "$@"`, "sh", file, ...argv]],
    remove() {
      try {
        rmdirSync(path);
      } catch { /* still has a process in it: it goes with the parent cgroup */ }
    },
  };
}
