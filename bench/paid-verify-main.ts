// The paid verify-only figure on whichever runtime runs this file: `npm run bench` runs it
// under Deno, so that both runtimes' figures come from the same code.
// Usage: deno run --allow-all bench/paid-verify-main.ts ROUNDS   (prints the figures as JSON)
import { paidVerifyFigures } from "./paid-verify.ts";

const rounds = Number(process.argv.at(-1)) || 3;
console.log(JSON.stringify(await paidVerifyFigures(rounds)));
process.exit(0);
