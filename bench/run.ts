// `npm run bench`: every figure, each a ratio (or count) measured against a baseline in
// the same run, printed as a markdown table and then, as the last line, one JSON object.
// `--quick` skips the figures that need the real cluster.
import { clusterFigures } from "./cluster-figures.ts";
import { paidVerifyFigures } from "./paid-verify.ts";
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
figures.push(...await verifierHttpFigures(ROUNDS));
log("paid verification on a local chain");
figures.push(...await paidVerifyFigures(ROUNDS));
if (!quick) {
  log("cluster figures (real control plane, Traefik, chain)");
  figures.push(...await clusterFigures(log));
}

const spread = (f: Figure) => (f.rounds > 1 ? `${f.min}..${f.max}` : "single run");
console.log("| figure | median | spread | rounds | goal | met | notes |");
console.log("|---|---|---|---|---|---|---|");
for (const f of figures) console.log(`| \`${f.key}\` | ${f.median}${f.unit ? ` ${f.unit}` : ""} | ${spread(f)} | ${f.rounds} | ${f.goal} | ${meetsGoal(f) ? "yes" : "**no**"} | ${f.what}${f.note ? `; ${f.note}` : ""} |`);
console.log(JSON.stringify(Object.fromEntries(figures.map((f) => [f.key, f.median]))));
process.exit(0);
