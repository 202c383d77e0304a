// `npm test`: every suite in turn, each on the runtime it targets, then one closing line
// "N passed, N failed" over all of them, which CI reads. Exit code non-zero if any failed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Counts = { passed: number; failed: number; skipped: number };
type Suite = {
  name: string;
  /** Runs first, untimed (e.g. building the real-cluster binaries on a fresh machine). */
  prepare?: string[];
  command: string[];
  counts: (reportDir: string, exitCode: number | null) => Counts;
};

const bin = (name: string) => join("node_modules", ".bin", name);
const only = process.argv.slice(2);

const SUITES: Suite[] = [
  { name: "typecheck", command: [bin("tsc"), "--noEmit"], counts: (_dir, code) => ({ passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 }) },
  {
    name: "unit (vitest on Node)",
    command: [bin("vitest"), "run", "--reporter=default", "--reporter=json", "--outputFile.json=$REPORT/vitest.json"],
    counts: (dir) => vitestCounts(join(dir, "vitest.json")),
  },
  {
    name: "unit (deno test)",
    command: [bin("deno"), "test", "--allow-all", "--no-check", "--junit-path=$REPORT/deno.xml"],
    counts: (dir) => junitCounts(join(dir, "deno.xml")),
  },
  {
    name: "interop (real chain, official x402 clients and facilitator)",
    command: [bin("vitest"), "run", "--config", "vitest.interop.config.ts", "--reporter=default", "--reporter=json", "--outputFile.json=$REPORT/vitest.json"],
    counts: (dir) => vitestCounts(join(dir, "vitest.json")),
  },
  {
    name: "e2e (real control plane, Traefik, chain; Node and Deno)",
    prepare: [bin("node"), "dev/binaries.ts"],
    command: [bin("vitest"), "run", "--config", "vitest.e2e.config.ts", "--reporter=default", "--reporter=json", "--outputFile.json=$REPORT/vitest.json"],
    counts: (dir) => vitestCounts(join(dir, "vitest.json")),
  },
];

function vitestCounts(file: string): Counts {
  const report = JSON.parse(readFileSync(file, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
  return { passed: report.numPassedTests, failed: report.numFailedTests, skipped: report.numPendingTests + report.numTodoTests };
}

/** Counts leaf tests in deno's JUnit report: a describe block is a test case too, so only those with no steps count. */
function junitCounts(file: string): Counts {
  const xml = readFileSync(file, "utf8");
  const cases = [...xml.matchAll(/<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)].map((m) => ({ name: m[1]!, body: m[2]! }));
  const leaves = cases.filter((c) => !cases.some((other) => other.name.startsWith(`${c.name} &gt; `)));
  return {
    passed: leaves.filter((c) => !/<(failure|error|skipped)\b/.test(c.body)).length,
    failed: leaves.filter((c) => /<(failure|error)\b/.test(c.body)).length,
    skipped: leaves.filter((c) => /<skipped\b/.test(c.body)).length,
  };
}

const total: Counts = { passed: 0, failed: 0, skipped: 0 };
let broken = false;
for (const suite of SUITES.filter((s) => only.length === 0 || only.some((o) => s.name.startsWith(o)))) {
  if (suite.prepare) {
    console.log(`\n=== ${suite.name}: preparing: ${suite.prepare.join(" ")}`);
    const prepared = spawnSync(suite.prepare[0]!, suite.prepare.slice(1), { stdio: ["ignore", "inherit", "inherit"] });
    if (prepared.status !== 0) {
      console.log(`=== ${suite.name}: preparation failed`);
      total.failed += 1;
      broken = true;
      continue;
    }
  }
  const reportDir = mkdtempSync(join(tmpdir(), "x402-test-"));
  const [command, ...args] = suite.command.map((part) => part.replace("$REPORT", reportDir));
  console.log(`\n=== ${suite.name}: ${[command, ...args].join(" ")}`);
  const started = Date.now();
  const result = spawnSync(command!, args, { stdio: "inherit" });
  let counts: Counts;
  try {
    counts = suite.counts(reportDir, result.status);
  } catch {
    counts = { passed: 0, failed: 1, skipped: 0 };
  }
  if (result.status !== 0 && counts.failed === 0) counts.failed = 1;
  if (result.status !== 0) broken = true;
  rmSync(reportDir, { recursive: true, force: true });
  console.log(`=== ${suite.name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
}
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(broken || total.failed > 0 ? 1 : 0);
