// `npm run soak` runs the fleet's real-cluster soak (tests/kind/fleet.test.ts) for 10 minutes,
// as CI does; `npm run soak -- --long` for an hour; `-- --seconds N` for any length.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { bin, PROJECT_ROOT } from "../dev/process.ts";

const { values } = parseArgs({ options: { long: { type: "boolean" }, seconds: { type: "string" } } });
const seconds = values.seconds ?? (values.long ? "3600" : "600");
if (!/^\d+$/.test(seconds) || Number(seconds) < 60) throw new Error("--seconds must be a whole number of at least 60");
const run = (file: string, args: string[]) => spawnSync(file, args, { cwd: PROJECT_ROOT, stdio: "inherit", env: { ...process.env, X402_SOAK_SECONDS: seconds } }).status ?? 1;
const built = run(bin("node"), ["dev/binaries.ts"]);
process.exit(built !== 0 ? built : run(bin("vitest"), ["run", "--config", "vitest.e2e.config.ts", "tests/kind/fleet.test.ts"]));
