// `npm run bench`: every figure, each a ratio (or count) measured against a baseline in
// the same run, printed as a markdown table and then, as the last line, one JSON object.
// `--quick` skips the figures that need the real cluster.
import { clusterFigures } from "./cluster-figures.ts";
import { dataPathFigures } from "./data-path.ts";
import { dataPathTraefikFigures } from "./data-path-traefik.ts";
import { spawnSync } from "node:child_process";
import { bin, PROJECT_ROOT } from "../dev/process.ts";
import { paidVerifyFigures } from "./paid-verify.ts";
import { replayStoreFigures } from "./replay-store.ts";
import { routeLookupFigures } from "./route-lookup.ts";
import { type Figure, meetsGoal } from "./stats.ts";
import { verifierHttpFigures } from "./verifier-http.ts";

const quick = process.argv.includes("--quick");
const ROUNDS = 3;
const log = (line: string) => console.error(`[bench] ${line}`);

const figures: Figure[] = [];
log("route lookups");
figures.push(...routeLookupFigures(ROUNDS));
log("verifier unpaid path under load (verifier, bare node:http, @x402/hono, alternating)");
// Five rounds: the CPU-per-answer ratios move with what else the 2-core machine does.
figures.push(...await verifierHttpFigures(5));
log("paid verification on a local chain (Node, then Deno)");
figures.push(...await paidVerifyFigures(ROUNDS));
figures.push(...(await paidVerifyOnDeno(ROUNDS)).map((f) => ({ ...f, key: `${f.key}_deno`, goal: "report", what: `${f.what}, on Deno` })));
log("replay store: paid verification with the Redis guard (a fleet's) vs the in-process one, alternating; store round trips; CPU per answer");
figures.push(...await replayStoreFigures(ROUNDS));
log("data path: streamed answers through the verifier vs straight to the upstream, and memory with many in flight");
figures.push(...await dataPathFigures(ROUNDS));
log("data path behind Traefik vs Traefik straight to the upstream (unpaid, paid verify-only, CPU)");
figures.push(...await dataPathTraefikFigures(ROUNDS));
if (!quick) {
  log("cluster figures (real control plane, Traefik, chain)");
  figures.push(...await clusterFigures(log));
}

/** The same paid figure, measured by the same code running under Deno. */
function paidVerifyOnDeno(rounds: number): Figure[] {
  const result = spawnSync(bin("deno"), ["run", "--allow-all", "bench/paid-verify-main.ts", String(rounds)], { cwd: PROJECT_ROOT, encoding: "utf8", timeout: 300_000 });
  const line = result.stdout.trim().split("\n").at(-1) ?? "";
  if (result.status !== 0 || !line.startsWith("[")) throw new Error(`paid verification on Deno failed: ${result.stderr.slice(-2000)}`);
  return JSON.parse(line) as Figure[];
}

const spread = (f: Figure) => (f.rounds > 1 ? `${f.min}..${f.max}` : "single run");
console.log("| figure | median | spread | rounds | goal | met | notes |");
console.log("|---|---|---|---|---|---|---|");
for (const f of figures) console.log(`| \`${f.key}\` | ${f.median}${f.unit ? ` ${f.unit}` : ""} | ${spread(f)} | ${f.rounds} | ${f.goal} | ${f.goal === "report" ? "reported" : meetsGoal(f) ? "yes" : "**no**"} | ${f.what}${f.note ? `; ${f.note}` : ""} |`);
console.log(JSON.stringify(Object.fromEntries(figures.map((f) => [f.key, f.median]))));
process.exit(0);
