// A real redis-server for tests, from Debian bookworm's packages: no Docker, no root, no
// compiler. `apt-get download` only writes .debs into its working directory and
// `dpkg-deb -x` only unpacks, so the install lives beside the Go-built binaries:
//   <cacheRoot()>/redis-7.0/usr/bin/redis-server        (see dev/binaries.ts)
// Debian ships redis-server as a symlink (package redis-server) to the multi-call binary
// in redis-tools, which picks its role from argv[0]; jemalloc and lzf are not on the
// machine, so the server runs with the unpacked usr/lib/<triplet> on LD_LIBRARY_PATH.
//
// Environment: X402_REDIS_SERVER (use this redis-server instead of installing one).
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { cacheRoot } from "./binaries.ts";
import { freePort } from "./free-port.ts";
import { type Running, startProcess, waitFor } from "./process.ts";

const SERIES = "7.0"; // names the cache directory; a download of another series is refused
const PACKAGES = ["redis-tools", "redis-server", "libjemalloc2", "liblzf1"];
const TRIPLET = process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
const execFileAsync = promisify(execFile);

/** tls: PEM files; the server then also listens for TLS on a port of its own (RunningRedis.tlsUrl). */
export type RedisOptions = { port?: number; dir?: string; appendOnly?: boolean; password?: string; tls?: { certFile: string; keyFile: string; caFile: string } };

export type RunningRedis = {
  /** redis://127.0.0.1:PORT */
  url: string;
  /** rediss://localhost:TLS_PORT, when started with `tls` (the certificate must name localhost). */
  tlsUrl?: string;
  port: number;
  /** Data directory (AOF lives here); kept across restart() and kill(). */
  dir: string;
  pid(): number | undefined;
  /** SIGTERM, wait for exit; removes the data dir unless the caller gave it. */
  stop(): Promise<void>;
  /** SIGKILL (a crash: the data dir stays, so restart() can recover from the AOF). */
  kill(): Promise<void>;
  /** Stops (if running), stays down downForMs, starts on the same port and dir, waits for PING. */
  restart(downForMs?: number): Promise<void>;
};

function log(message: string): void {
  process.stderr.write(`[redis] ${message}\n`);
}

let installing: Promise<string> | undefined;

/** Path of a redis-server 7.0 binary, unpacked from Debian's packages on first use. */
export function redisServerBinary(): Promise<string> {
  const given = process.env.X402_REDIS_SERVER;
  if (given) {
    if (!fs.existsSync(given)) return Promise.reject(new Error(`X402_REDIS_SERVER=${given} does not exist`));
    return Promise.resolve(path.resolve(given));
  }
  installing ??= install().catch((error: unknown) => {
    installing = undefined; // let a later call try again
    throw error;
  });
  return installing;
}

async function install(): Promise<string> {
  const root = path.join(cacheRoot(), `redis-${SERIES}`);
  const binary = path.join(root, "usr", "bin", "redis-server");
  if (fs.existsSync(binary)) return binary;
  // No lock: each process works in its own temp dir beside the target and the first
  // rename wins; a loser only wasted a ~1.4 MB download.
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const work = fs.mkdtempSync(`${root}.tmp-`);
  try {
    const started = Date.now();
    log(`${root} missing: apt-get download ${PACKAGES.join(" ")}`);
    await execFileAsync("apt-get", ["download", ...PACKAGES], { cwd: work });
    const tree = path.join(work, "root");
    const versions: Record<string, string> = {};
    for (const deb of fs.readdirSync(work).filter((f) => f.endsWith(".deb"))) {
      const { stdout } = await execFileAsync("dpkg-deb", ["-W", "--showformat=${Package} ${Version}", deb], { cwd: work });
      const [name = deb, version = "?"] = stdout.trim().split(" ");
      versions[name] = version;
      await execFileAsync("dpkg-deb", ["-x", deb, tree], { cwd: work });
    }
    const redisVersion = versions["redis-tools"] ?? "";
    if (!new RegExp(`^(\\d+:)?${SERIES.replace(".", "\\.")}\\.`).test(redisVersion)) {
      throw new Error(`apt offers redis-tools ${redisVersion || "(none)"}, not ${SERIES}.x: check the apt sources (Debian bookworm)`);
    }
    if (!fs.existsSync(path.join(tree, "usr", "bin", "redis-server"))) throw new Error(`no usr/bin/redis-server in ${PACKAGES.join(", ")}`);
    const info = { source: "apt-get download (Debian)", packages: versions, installMs: Date.now() - started, installedAt: new Date().toISOString() };
    fs.writeFileSync(path.join(tree, "install-info.json"), `${JSON.stringify(info, null, 2)}\n`);
    try {
      fs.renameSync(tree, root);
    } catch (error) {
      if (!fs.existsSync(binary)) throw error;
      log(`another process installed ${root} first; using that one`);
      return binary;
    }
    log(`redis-tools ${redisVersion} unpacked into ${root} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return binary;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The unpacked libraries for our cached binary; harmless for a system one. */
function libraryEnv(binary: string): Record<string, string> {
  const lib = path.join(path.dirname(path.dirname(binary)), "lib", TRIPLET);
  if (!fs.existsSync(lib)) return {};
  return { LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") };
}

/** Sends an inline PING and resolves with the first reply line. */
function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = "";
    socket.setTimeout(1000, () => socket.destroy(new Error("no reply to PING within 1 s")));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) {
        socket.destroy();
        resolve(reply.slice(0, reply.indexOf("\r\n")));
      }
    });
    socket.once("error", reject);
    socket.once("close", () => reject(new Error(`connection closed, got ${JSON.stringify(reply)}`)));
  });
}

// Default data dirs left behind by kill() without stop() still go when the test process does.
const tempDirs = new Set<string>();
process.on("exit", () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts redis-server on loopback (AOF with fsync per write by default) and waits until it answers. */
export async function startRedis(options: RedisOptions = {}): Promise<RunningRedis> {
  const binary = await redisServerBinary();
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "x402-redis-"));
  const appendOnly = options.appendOnly ?? true;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", appendOnly ? "yes" : "no", "--appendfsync", "always"];
  args.push("--dir", dir, "--daemonize", "no", "--protected-mode", "no");
  if (options.password) args.push("--requirepass", options.password);
  const tlsPort = options.tls ? await freePort() : undefined;
  if (options.tls) {
    const { certFile, keyFile, caFile } = options.tls;
    args.push("--tls-port", String(tlsPort), "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no");
  }
  // -NOAUTH is an answer from a ready server that wants a password; -LOADING is not ready.
  const ready = options.password ? /^(\+PONG|-NOAUTH)/ : /^\+PONG/;
  let proc: Running | undefined;

  const launch = async () => {
    // Another server already answering here would make the readiness check lie.
    if (await ping(port).then(() => true, () => false)) throw new Error(`port ${port} already has a server answering`);
    fs.mkdirSync(dir, { recursive: true });
    if (!options.dir) tempDirs.add(dir);
    const started = startProcess(binary, args, libraryEnv(binary)); // process.ts kills it when we exit
    proc = started;
    try {
      await waitFor(`redis-server on 127.0.0.1:${port} answering PING`, async () => ready.test(await ping(port)), 10_000, started);
    } catch (error) {
      proc = undefined;
      await started.stop("SIGKILL");
      throw error;
    }
  };
  const halt = async (signal: NodeJS.Signals) => {
    const current = proc;
    proc = undefined;
    await current?.stop(signal);
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    tlsUrl: tlsPort === undefined ? undefined : `rediss://localhost:${tlsPort}`,
    port,
    dir,
    pid: () => (proc && proc.child.exitCode === null && proc.child.signalCode === null ? proc.child.pid : undefined),
    async stop() {
      await halt("SIGTERM");
      if (!options.dir) {
        fs.rmSync(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
      }
    },
    kill: () => halt("SIGKILL"),
    async restart(downForMs = 0) {
      await halt("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, downForMs));
      await launch();
    },
  };
}
