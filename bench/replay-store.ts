// A verifier fleet's shared replay store (Valkey/Redis) against the in-process guard of a single
// replica: paid verify-only answers per second through the decision bench/paid-verify.ts drives
// (fresh payments, a local chain, 16 at a time), the store's round trips under that load and
// alone, and the CPU each answer costs the verifier, the redis-server and the chain. A fleet's
// CPU-bound ceiling follows from those costs, not from its req/s, since the 2 cores here are
// shared by the verifier, redis, the chain and the code that signs the payments.
// Rounds alternate (in-process, Redis, in-process, ...) after one unmeasured warm-up of each.
// Usage: node bench/replay-store.ts [ROUNDS]   (also part of `npm run bench`)
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as v from "valibot";
import { jsonLogger } from "../adapters/log.ts";
import { connectStore } from "../adapters/redis.ts";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { PaymentRouteSchema } from "../core/payment-route.ts";
import { startChain } from "../dev/chain/chain.ts";
import { waitFor } from "../dev/process.ts";
import { startRedis } from "../dev/redis.ts";
import type { VerifierDeps } from "../verifier/deps.ts";
import { forwardAuth } from "../verifier/forward-auth.ts";
import { redisReplayGuard } from "../verifier/redis-replay-guard.ts";
import { memoryReplayGuard, type ReplayGuard } from "../verifier/replay-guard.ts";
import { priceRoute } from "../verifier/routes/priced-route.ts";
import { buildRouteTable } from "../verifier/routes/table.ts";
import { chainClients } from "../verifier/x402/chain-clients.ts";
import { localFacilitator } from "../verifier/x402/facilitator-local.ts";
import { cpuMs } from "./cpu-time.ts";
import { freshPayments } from "./fresh-payments.ts";
import { figure, type Figure, percentile, round } from "./stats.ts";

// Enough answers per round that redis's few µs per answer show in /proc's 10 ms ticks.
const PAYMENTS = 800;
const CONCURRENCY = 16;
const ALONE = 2000;
const CORES = 2;

type Calls = { peek: number[]; reserve: number[]; mark: number[] };
type Cpu = { self: number; redis: number; chain: number; machine: number };
type Round = { rps: number; answers: number; cpu: Cpu; calls: Calls; loop: number[] };
const calls = (): Calls => ({ peek: [], reserve: [], mark: [] });

/** Records how long each store call takes as the paid path sees it: under load that includes waiting for the event loop. */
function timed(guard: ReplayGuard, into: Calls): ReplayGuard {
  const time = <A extends unknown[], R>(samples: number[], call: (...a: A) => Promise<R>) => async (...a: A) => {
    const started = performance.now();
    try {
      return await call(...a);
    } finally {
      samples.push(performance.now() - started);
    }
  };
  return { ...guard, peek: time(into.peek, guard.peek), reserve: time(into.reserve, guard.reserve), mark: time(into.mark, guard.mark) };
}

/** Every process below `pid` (from /proc's children lists): the chain is a hardhat node we cannot otherwise name. */
function descendants(pid: number): number[] {
  const kids = readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(" ").filter(Boolean).map(Number));
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

/** Busy CPU time of the whole machine in ms (/proc/stat, all cores): shows what else ran meanwhile. */
function machineBusyMs(): number {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
  return (ticks.reduce((a, b) => a + b, 0) - ticks[3]! - ticks[4]!) * 10; // less idle and iowait; USER_HZ 100
}

const ms = (values: number[], p: number) => round(percentile(values, p), 3);
const range = (values: number[], digits = 0) => `${round(Math.min(...values), digits)}..${round(Math.max(...values), digits)}`;

export async function replayStoreFigures(rounds: number): Promise<Figure[]> {
  rounds = Math.max(3, rounds);
  const chain = await startChain();
  const redis = await startRedis(); // AOF with an fsync per write: the strictest setting docs/verifier-fleet.md allows
  const store = connectStore({ url: redis.url });
  try {
    const redisPid = redis.pid()!;
    const chainPids = descendants(process.pid).filter((p) => p !== redisPid && !descendants(redisPid).includes(p));
    const cpu = (): Cpu => {
      const own = process.cpuUsage();
      return { self: (own.user + own.system) / 1000, redis: cpuMs(redisPid), chain: chainPids.reduce((sum, p) => sum + cpuMs(p), 0), machine: machineBusyMs() };
    };
    const payTo = chain.accounts[9]!.address;
    const priced = priceRoute(v.parse(PaymentRouteSchema, {
      apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "bench", namespace: "bench" },
      spec: { pattern: "/paid/*", price: "0.001", amount: "1000", payTo, network: "base-sepolia", priceModel: "perRequest" },
    }), DEFAULT_NETWORKS);
    if (!priced.ok) throw new Error(priced.issue.message);
    const table = buildRouteTable([{ pattern: "/paid/*", value: priced.route }]);
    const quiet = jsonLogger({}, () => {});
    const facilitator = localFacilitator(chainClients({ rpcUrls: { "base-sepolia": chain.rpcUrl } }));
    // One Redis guard for the run, as a replica keeps one; the in-process guard starts empty each round, as in paid-verify.ts.
    const shared = redisReplayGuard({ store, replica: `bench-${process.pid}`, log: quiet });
    await waitFor("the replay store connected", async () => store.ready(), 10_000);
    const guards = { memory: memoryReplayGuard, redis: () => shared };
    const pay = freshPayments(chain, payTo);

    const measure = async (variant: keyof typeof guards, payments: number): Promise<Round> => {
      const headers: string[] = [];
      for (let i = 0; i < payments; i++) headers.push(await pay()); // signed before the clock starts: the buyers' work
      const into = calls();
      const deps: VerifierDeps = {
        routes: () => table, facilitator, guard: timed(guards[variant](), into), mode: "verify-only",
        nowSeconds: () => BigInt(Math.floor(Date.now() / 1000)), upstreamAuthorization: async () => ({ ok: true }), log: quiet,
      };
      let next = 0;
      let ok = 0;
      // How late the event loop runs what is ready: under load, most of a store call's time as the request sees it.
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      const before = cpu();
      const started = performance.now();
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < headers.length) {
          const header = headers[next++]!;
          const { answer } = await forwardAuth((name) => (name === "x-forwarded-uri" ? "/paid/x" : name === "x-payment" ? header : null), deps);
          if (answer.status === 200) ok++;
        }
      }));
      const elapsed = performance.now() - started;
      const after = cpu();
      loop.disable();
      if (ok !== payments) throw new Error(`${variant}: only ${ok} of ${payments} payments verified`);
      const spent = Object.fromEntries(Object.entries(after).map(([k, x]) => [k, x - before[k as keyof Cpu]])) as Cpu;
      return { rps: (ok / elapsed) * 1000, answers: ok, cpu: spent, calls: into, loop: [loop.percentile(50) / 1e6, loop.percentile(99) / 1e6] };
    };

    await measure("memory", 200);
    await measure("redis", 200);
    const runs = { memory: [] as Round[], redis: [] as Round[] };
    for (let r = 0; r < rounds; r++) for (const variant of ["memory", "redis"] as const) runs[variant].push(await measure(variant, PAYMENTS));

    // The same calls one at a time, nothing else running: the store's own round trip.
    const alone = async (guard: ReplayGuard) => {
      const into = calls();
      const g = timed(guard, into);
      const now = BigInt(Math.floor(Date.now() / 1000));
      const before = process.cpuUsage();
      for (let i = 0; i < ALONE; i++) {
        const key = `bench:${randomBytes(16).toString("hex")}`;
        await g.reserve(key, now + 600n, now, "bench");
        await g.peek(key, now);
      }
      const used = process.cpuUsage(before);
      return { ...into, clientUs: (used.user + used.system) / (2 * ALONE) }; // this process's CPU per call
    };
    const aloneMemory = await alone(memoryReplayGuard());
    const aloneRedis = await alone(shared);
    await shared.close?.();

    // CPU per answer in µs, per round and over all rounds of a variant (the totals smooth /proc's ticks).
    const per = (rs: Round[], k: keyof Cpu) => rs.map((x) => (x.cpu[k] * 1000) / x.answers);
    const total = (rs: Round[], k: keyof Cpu) => (rs.reduce((s, x) => s + x.cpu[k], 0) * 1000) / rs.reduce((s, x) => s + x.answers, 0);
    const [vm, vr, rr] = [total(runs.memory, "self"), total(runs.redis, "self"), total(runs.redis, "redis")];
    const [cm, cr] = [total(runs.memory, "chain"), total(runs.redis, "chain")];
    const others = (rs: Round[]) => total(rs, "machine") - total(rs, "self") - total(rs, "redis") - total(rs, "chain");
    // Ceilings, CPU-bound: a replica's JavaScript runs on one core, so one replica answers at most
    // 1e6 / (its µs per answer) per second; the fleet on this machine shares its 2 cores with redis
    // and the chain (measured per answer above); each further core, with the chain's RPC elsewhere
    // as in production, adds 1e6 / (replica + redis µs per answer). Redis runs scripts on one thread.
    const oneReplica = Math.min(1e6 / vm, (CORES * 1e6) / (vm + cm));
    const fleet = Math.min(3 * (1e6 / vr), (CORES * 1e6) / (vr + rr + cr));
    const perCore = 1e6 / (vr + rr);
    const pick = (rs: Round[], k: keyof Calls, p: number) => rs.map((x) => ms(x.calls[k], p));
    const pooled = (rs: Round[], k: keyof Calls) => rs.flatMap((x) => x.calls[k]);
    const lat = (c: Calls | number[], name: string): string => Array.isArray(c) ? `${name} p50 ${ms(c, 50)} / p99 ${ms(c, 99)} ms` : `${lat(c.reserve, `${name} reserve`)}, ${lat(c.peek, "peek")}`;
    const note = (rs: Round[], k: keyof Cpu) => `${range(per(rs, k), 1)} µs`;
    return [
      figure("replay_store_paid_verify_vs_memory", "paid verify-only answers/s, Redis replay guard / in-process guard (same process, 16 at a time)", "report",
        runs.redis.map((x, i) => round(x.rps / runs.memory[i]!.rps)), { note: `in-process ${range(runs.memory.map((x) => x.rps))}/s; Redis ${range(runs.redis.map((x) => x.rps))}/s` }),
      figure("replay_store_cpu_per_answer_vs_memory", "verifier CPU per paid verify-only answer, Redis guard / in-process guard", "report",
        runs.redis.map((x, i) => round(per([x], "self")[0]! / per([runs.memory[i]!], "self")[0]!)), { note: `in-process ${note(runs.memory, "self")}; Redis ${note(runs.redis, "self")}` }),
      figure("replay_store_reserve_loaded_p50_ms", "Redis reserve() under that load, p50 per round", "report", pick(runs.redis, "reserve", 50), {
        unit: "ms", note: `pooled: ${lat(pooled(runs.redis, "reserve"), "reserve")}, ${lat(pooled(runs.redis, "peek"), "peek")}, ${lat(pooled(runs.redis, "mark"), "mark")}; in-process ${lat(pooled(runs.memory, "reserve"), "reserve")}; event-loop delay p99 ${range(runs.redis.map((x) => x.loop[1]!), 1)} ms (in-process rounds ${range(runs.memory.map((x) => x.loop[1]!), 1)})`,
      }),
      figure("replay_store_reserve_loaded_p99_ms", "Redis reserve() under that load, p99 per round", "report", pick(runs.redis, "reserve", 99), { unit: "ms" }),
      figure("replay_store_reserve_alone_p50_ms", `Redis reserve() alone (${ALONE} sequential, each with a peek)`, "report", [ms(aloneRedis.reserve, 50)], {
        unit: "ms", note: `${lat(aloneRedis, "Redis")}, client CPU ${round(aloneRedis.clientUs, 1)} µs per call; ${lat(aloneMemory, "in-process")}`,
      }),
      figure("replay_store_redis_cpu_per_answer_us", "redis-server CPU per paid answer (3 scripts; AOF, fsync per write)", "report", per(runs.redis, "redis").map((x) => round(x, 1)), {
        unit: "µs", note: `chain ${note(runs.memory, "chain")} (in-process rounds), ${note(runs.redis, "chain")} (Redis rounds); CPU used by anything else meanwhile: ${Math.round(others(runs.memory))} and ${Math.round(others(runs.redis))} µs per answer`,
      }),
      figure("replay_store_fleet_ceiling_vs_one_replica", `CPU-bound ceiling, 3 replicas on the Redis guard / 1 replica in-process, both on these ${CORES} cores with the chain`, "report", [round(fleet / oneReplica)], {
        note: `fleet ${Math.round(fleet)}/s vs ${Math.round(oneReplica)}/s; one replica ${Math.round(1e6 / vr)}/s per core (Redis guard), ${Math.round(1e6 / vm)} in-process; +${Math.round(perCore)}/s per further core (chain elsewhere); redis's one thread saturates near ${Math.round(1e6 / rr)}/s (${Math.round(vr / rr)} replicas' worth); from µs per answer: verifier ${round(vm, 1)} / ${round(vr, 1)}, redis ${round(rr, 1)}, chain ${round(cm, 1)} / ${round(cr, 1)}`,
      }),
    ];
  } finally {
    await store.close();
    await redis.stop();
    await chain.stop();
  }
}

if (import.meta.main ?? import.meta.url === `file://${process.argv[1]}`) {
  const figures = await replayStoreFigures(Number(process.argv[2]) || 3);
  console.log("| figure | median | spread | rounds | notes |");
  console.log("|---|---|---|---|---|");
  for (const f of figures) console.log(`| \`${f.key}\` | ${f.median}${f.unit ? ` ${f.unit}` : ""} | ${f.rounds > 1 ? `${f.min}..${f.max}` : "single run"} | ${f.rounds} | ${f.what}${f.note ? `; ${f.note}` : ""} |`);
  console.log(JSON.stringify(Object.fromEntries(figures.map((f) => [f.key, f.median]))));
  process.exit(0);
}
