// Real control-plane and gateway binaries for the real-cluster tests, built with `go build`
// from the Go modules pinned under dev/go/ (kube, etcd, traefik) and cached outside
// the repository, keyed by version:
//   ${X402_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/x402-operator/bin}/<component>-<version>/<binary>
// A binary is built only when missing; a lock file in the cache root keeps two concurrent
// runs from building the same thing twice. The CRDs the harness applies (Gateway API
// standard channel, Traefik's own) are read from the Go module cache, not copied here.
//
//   node dev/binaries.ts            build what is missing, print paths as JSON
//   node dev/binaries.ts --env      the same, as shell `export` lines
//
// Environment: X402_BIN_CACHE (cache root), X402_GO (go command, default `go`),
// X402_GO_BUILD_P (go build -p, default 2).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type Binaries = {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  traefik: string;
  /** sigs.k8s.io/gateway-api@<version>/config/crd/standard (one CRD per *.yaml file). */
  gatewayCrdsDir: string;
  /** Traefik's CRD bundle (multi-document YAML, traefik.io/v1alpha1). */
  traefikCrdsFile: string;
  /** Module versions: etcd, kubernetes, traefik, gatewayApi. */
  versions: Record<string, string>;
};

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const GO_MODULES_DIR = path.join(HERE, "go");
const GO = process.env.X402_GO || "go";
const BUILD_P = process.env.X402_GO_BUILD_P || "2";

type Component = {
  /** Cache directory prefix and binary file name. */
  name: string;
  /** Directory under dev/go holding the pinning go.mod. */
  moduleDir: "kube" | "etcd" | "traefik";
  /** Main package to build. */
  pkg: string;
  /** Module whose version names the binary. */
  versionModule: string;
  /** Extra -X settings for `go build -ldflags`, like the projects' own release builds. */
  xflags(version: string): string[];
};

const BUILD_DATE = "1970-01-01T00:00:00Z"; // reproducible; nothing reads it

function kubeVersionFlags(version: string): string[] {
  const [major = "1", minor = "0"] = version.replace(/^v/, "").split(".");
  const out: string[] = [];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    out.push(`${pkg}.gitVersion=${version}`, `${pkg}.gitMajor=${major}`, `${pkg}.gitMinor=${minor}`);
    out.push(`${pkg}.gitTreeState=clean`, `${pkg}.gitCommit=unknown`, `${pkg}.buildDate=${BUILD_DATE}`);
  }
  return out;
}

export const COMPONENTS: Component[] = [
  { name: "etcd", moduleDir: "etcd", pkg: "go.etcd.io/etcd/server/v3", versionModule: "go.etcd.io/etcd/server/v3", xflags: () => [] },
  {
    name: "kube-apiserver",
    moduleDir: "kube",
    pkg: "k8s.io/kubernetes/cmd/kube-apiserver",
    versionModule: "k8s.io/kubernetes",
    xflags: kubeVersionFlags,
  },
  {
    name: "kube-controller-manager",
    moduleDir: "kube",
    pkg: "k8s.io/kubernetes/cmd/kube-controller-manager",
    versionModule: "k8s.io/kubernetes",
    xflags: kubeVersionFlags,
  },
  {
    name: "traefik",
    moduleDir: "traefik",
    pkg: "github.com/traefik/traefik/v3/cmd/traefik",
    versionModule: "github.com/traefik/traefik/v3",
    xflags: (v) => [`github.com/traefik/traefik/v3/pkg/version.Version=${v.replace(/^v/, "")}`, `github.com/traefik/traefik/v3/pkg/version.BuildDate=${BUILD_DATE}`],
  },
];

export function cacheRoot(): string {
  if (process.env.X402_BIN_CACHE) return path.resolve(process.env.X402_BIN_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "x402-operator", "bin");
}

/** The version a go.mod requires (or replaces to) for `module`, read from the file. */
export function requiredVersion(moduleDir: string, module: string): string {
  const text = fs.readFileSync(path.join(GO_MODULES_DIR, moduleDir, "go.mod"), "utf8");
  const esc = module.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const replaced = new RegExp(`^\\s*${esc}(?:\\s+\\S+)?\\s+=>\\s+\\S+\\s+(v\\S+)`, "m").exec(text);
  if (replaced?.[1]) return replaced[1];
  const required = new RegExp(`^(?:require\\s+|\\s+)${esc}\\s+(v\\S+)`, "m").exec(text);
  if (!required?.[1]) throw new Error(`dev/go/${moduleDir}/go.mod does not require ${module}`);
  return required[1];
}

export function binaryPath(c: Component): string {
  const version = requiredVersion(c.moduleDir, c.versionModule);
  return path.join(cacheRoot(), `${c.name}-${version}`, c.name);
}

function log(message: string): void {
  process.stderr.write(`[binaries] ${message}\n`);
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; capture?: boolean }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", opts.capture ? "pipe" : "inherit", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => {
      err = (err + b.toString()).slice(-20_000);
      if (!opts.capture) process.stderr.write(b);
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")} (in ${opts.cwd}) failed: ${signal ?? `exit ${code}`}\n${err}`));
    });
  });
}

function goEnv(): NodeJS.ProcessEnv {
  // CGO off: static binaries, no C toolchain needed, faster builds.
  return { ...process.env, CGO_ENABLED: "0" };
}

let goVersionCache: string | undefined;
async function goVersion(): Promise<string> {
  goVersionCache ??= (await run(GO, ["env", "GOVERSION"], { cwd: GO_MODULES_DIR, capture: true })).trim();
  return goVersionCache;
}

/** Downloads (if needed) and returns a module's directory in the Go module cache. */
async function moduleDir(moduleDir: string, module: string): Promise<string> {
  const version = requiredVersion(moduleDir, module);
  const cache = process.env.GOMODCACHE || (await run(GO, ["env", "GOMODCACHE"], { cwd: GO_MODULES_DIR, capture: true })).trim();
  // Module cache paths escape upper-case letters as "!" + lower case.
  const escaped = `${module}@${version}`.replace(/[A-Z]/g, (ch) => `!${ch.toLowerCase()}`);
  const dir = path.join(cache, escaped);
  if (fs.existsSync(path.join(dir, "go.mod")) || fs.existsSync(path.join(dir, "LICENSE"))) return dir;
  const json = await run(GO, ["mod", "download", "-json", `${module}@${version}`], { cwd: path.join(GO_MODULES_DIR, moduleDir), env: goEnv(), capture: true });
  const parsed = JSON.parse(json) as { Dir?: string; Error?: string };
  if (!parsed.Dir) throw new Error(`go mod download ${module}@${version}: ${parsed.Error ?? "no Dir"}`);
  return parsed.Dir;
}

// ---- lock: a directory created atomically, with the owner's pid; stale owners are replaced.

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const owner = path.join(dir, "owner");
  let waitingSince = 0;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(owner, `${process.pid} ${os.hostname()}\n`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let pid = 0;
      try {
        pid = Number.parseInt(fs.readFileSync(owner, "utf8"), 10);
      } catch {
        // owner not written yet, or just released
      }
      const stat = fs.statSync(dir, { throwIfNoEntry: false });
      const ageMs = stat ? Date.now() - stat.mtimeMs : 0;
      if ((pid > 0 && !pidAlive(pid)) || (!pid && ageMs > 30_000)) {
        log(`removing stale build lock ${dir} (owner ${pid || "unknown"})`);
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (!waitingSince) {
        waitingSince = Date.now();
        log(`waiting for another build (pid ${pid || "?"}) holding ${dir}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export type BuildReport = { name: string; version: string; path: string; built: boolean; downloadMs?: number; compileMs?: number; bytes: number };

async function build(c: Component): Promise<BuildReport> {
  const version = requiredVersion(c.moduleDir, c.versionModule);
  const out = binaryPath(c);
  if (fs.existsSync(out)) return { name: c.name, version, path: out, built: false, bytes: fs.statSync(out).size };
  const cwd = path.join(GO_MODULES_DIR, c.moduleDir);
  const env = goEnv();
  log(`${c.name} ${version}: downloading modules (dev/go/${c.moduleDir})`);
  let t = Date.now();
  // Loading the package graph downloads exactly the modules the build needs.
  await run(GO, ["list", "-mod=readonly", "-deps", "-f", "{{.ImportPath}}", c.pkg], { cwd, env, capture: true });
  const downloadMs = Date.now() - t;
  log(`${c.name} ${version}: compiling with go build -p ${BUILD_P}`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const ldflags = ["-s", "-w", ...c.xflags(version).map((x) => `-X=${x}`)].join(" ");
  t = Date.now();
  try {
    await run(GO, ["build", "-mod=readonly", "-p", BUILD_P, "-trimpath", "-buildvcs=false", `-ldflags=${ldflags}`, "-o", tmp, c.pkg], { cwd, env });
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const compileMs = Date.now() - t;
  const goVer = await goVersion();
  const goMod = fs.readFileSync(path.join(cwd, "go.mod"));
  const goSum = fs.readFileSync(path.join(cwd, "go.sum"));
  const info = {
    component: c.name,
    version,
    package: c.pkg,
    go: goVer,
    ldflags,
    goModSha256: createHash("sha256").update(goMod).update(goSum).digest("hex"),
    downloadMs,
    compileMs,
    builtAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(path.dirname(out), "build-info.json"), `${JSON.stringify(info, null, 2)}\n`);
  const bytes = fs.statSync(out).size;
  log(`${c.name} ${version}: built in ${((downloadMs + compileMs) / 1000).toFixed(1)} s (download ${(downloadMs / 1000).toFixed(1)} s, compile ${(compileMs / 1000).toFixed(1)} s), ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  return { name: c.name, version, path: out, built: true, downloadMs, compileMs, bytes };
}

let lastReports: BuildReport[] = [];
/** What the last ensureBinaries() call did per binary (built or cached, times, sizes). */
export function lastBuildReports(): BuildReport[] {
  return lastReports;
}

let pending: Promise<Binaries> | undefined;

/** Builds whatever is missing (one process at a time per cache root) and returns the paths. */
export function ensureBinaries(): Promise<Binaries> {
  pending ??= ensure().finally(() => {
    pending = undefined;
  });
  return pending;
}

async function ensure(): Promise<Binaries> {
  const missing = COMPONENTS.filter((c) => !fs.existsSync(binaryPath(c)));
  const reports: BuildReport[] = [];
  if (missing.length > 0) {
    await withLock(path.join(cacheRoot(), ".build.lock"), async () => {
      for (const c of COMPONENTS) reports.push(await build(c)); // sequential: 2 cores
    });
  } else {
    for (const c of COMPONENTS) reports.push({ name: c.name, version: requiredVersion(c.moduleDir, c.versionModule), path: binaryPath(c), built: false, bytes: fs.statSync(binaryPath(c)).size });
  }
  lastReports = reports;
  const pathOf = (name: string) => reports.find((r) => r.name === name)!.path;

  const gatewayModule = await moduleDir("traefik", "sigs.k8s.io/gateway-api");
  const traefikModule = await moduleDir("traefik", "github.com/traefik/traefik/v3");
  const gatewayCrdsDir = path.join(gatewayModule, "config", "crd", "standard");
  const traefikCrdsFile = [
    path.join(traefikModule, "docs", "content", "reference", "dynamic-configuration", "kubernetes-crd-definition-v1.yml"),
    path.join(traefikModule, "integration", "fixtures", "k8s", "01-traefik-crd.yml"),
  ].find((f) => fs.existsSync(f));
  if (!fs.existsSync(gatewayCrdsDir)) throw new Error(`Gateway API CRDs not found at ${gatewayCrdsDir}`);
  if (!traefikCrdsFile) throw new Error(`Traefik CRDs not found in ${traefikModule}`);

  return {
    etcd: pathOf("etcd"),
    kubeApiserver: pathOf("kube-apiserver"),
    kubeControllerManager: pathOf("kube-controller-manager"),
    traefik: pathOf("traefik"),
    gatewayCrdsDir,
    traefikCrdsFile,
    versions: {
      etcd: requiredVersion("etcd", "go.etcd.io/etcd/server/v3"),
      kubernetes: requiredVersion("kube", "k8s.io/kubernetes"),
      traefik: requiredVersion("traefik", "github.com/traefik/traefik/v3"),
      gatewayApi: requiredVersion("traefik", "sigs.k8s.io/gateway-api"),
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const bins = await ensureBinaries();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (process.argv.includes("--env")) {
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    console.log(`export X402_ETCD=${q(bins.etcd)}`);
    console.log(`export X402_KUBE_APISERVER=${q(bins.kubeApiserver)}`);
    console.log(`export X402_KUBE_CONTROLLER_MANAGER=${q(bins.kubeControllerManager)}`);
    console.log(`export X402_TRAEFIK=${q(bins.traefik)}`);
    console.log(`export X402_GATEWAY_CRDS_DIR=${q(bins.gatewayCrdsDir)}`);
    console.log(`export X402_TRAEFIK_CRDS_FILE=${q(bins.traefikCrdsFile)}`);
  } else {
    console.log(JSON.stringify({ ...bins, builds: lastBuildReports(), seconds: Number(seconds) }, null, 2));
  }
}
