#!/usr/bin/env node
// The command line: one subcommand per job. Runs unbuilt on Node >= 22 and on Deno 2.
import { UsageError } from "./cli/config-flags.ts";
import { InputError } from "./adapters/yaml-documents.ts";
import { controllerCommand } from "./cli/controller.ts";
import { renderCommand } from "./cli/render.ts";
import { verifierCommand } from "./cli/verifier.ts";

type Command = { summary: string; run: (args: string[], out: (t: string) => void, err: (t: string) => void) => number | Promise<number> };

const COMMANDS: Record<string, Command> = {
  render: { summary: "print the children the operator would create for ServiceOffers in a file", run: renderCommand },
  controller: { summary: "run the controller (reconciles ServiceOffers; leader election optional)", run: controllerCommand },
  verifier: { summary: "run the x402 ForwardAuth verifier (routes from the cluster or a file)", run: verifierCommand },
};

const HELP = `Usage: main.ts <command> [options]   (npm run --silent cli -- <command> ...)

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`).join("\n")}

Run "<command> --help" for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const out = (text: string) => void process.stdout.write(text);
  const err = (text: string) => void process.stderr.write(text);
  const [name, ...args] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") return out(HELP), name ? 0 : 2;
  const command = COMMANDS[name];
  if (!command) return err(`unknown command "${name}"\n\n${HELP}`), 2;
  try {
    return await command.run(args, out, err);
  } catch (error) {
    if (error instanceof InputError) return err(`${name}: ${error.message}\n`), 1;
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      return err(`${name}: ${(error as Error).message}\nRun "${name} --help" for usage.\n`), 2;
    }
    throw error;
  }
}

if (import.meta.main ?? import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
