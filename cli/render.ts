// `render -f FILE`: prints the children the operator would create, like `helm template`.
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { configFromFlags, CONFIG_OPTIONS, CONFIG_HELP } from "./config-flags.ts";
import { readDocuments } from "../adapters/yaml-documents.ts";
import { renderOffers } from "../core/render.ts";
import { REGISTRATION_PATH } from "../core/agent-registration.ts";
import { sortKeys } from "../core/yaml-order.ts";

export const RENDER_HELP = `Usage: render -f FILE [options]

Prints, for every ServiceOffer in FILE (multi-document YAML; "-" reads standard input),
the children the operator would create for it, as one multi-document YAML stream:
PaymentRoute, Middleware, ReferenceGrant (cross-namespace upstream only), HTTPRoute, and,
as comments after them, the ERC-8004 registration document of each offer that enables it.
Exits 1 and names the offer and the field when an offer is invalid.

Options:
  -f, --filename FILE   input file, or - for standard input (required)
  -n, --namespace NS    namespace for offers that name none (default: default)
${CONFIG_HELP}`;

export function renderCommand(args: string[], out: (text: string) => void, err: (text: string) => void): number {
  const { values } = parseArgs({
    args,
    options: {
      filename: { type: "string", short: "f" },
      namespace: { type: "string", short: "n", default: "default" },
      help: { type: "boolean", short: "h" },
      ...CONFIG_OPTIONS,
    },
  });
  if (values.help) return out(RENDER_HELP), 0;
  if (!values.filename) return err("render: -f FILE is required (use -f - for standard input)\n"), 2;
  const config = configFromFlags(values, process.env);
  const result = renderOffers(readDocuments(values.filename), config, values.namespace, new Date(0));
  for (const error of result.errors) err(`render: ${error}\n`);
  if (result.errors.length > 0) return 1;
  const documents = result.rendered.flatMap(({ offer, children }) =>
    children.map((child) => `# ServiceOffer ${offer}: ${child.kind}\n${stringify(sortKeys(child), { lineWidth: 0 })}`)
  );
  // Registration documents are not Kubernetes objects: shown as comments, the stream stays one `kubectl apply -f` takes.
  const registrations = result.rendered.flatMap(({ offer, registration }) =>
    registration
      ? [`# ServiceOffer ${offer}: ERC-8004 registration document (${config.publicUrl}${REGISTRATION_PATH})\n${JSON.stringify(registration, null, 2).replace(/^/gm, "# ")}\n`]
      : []
  );
  out(documents.join("---\n") + registrations.join(""));
  return 0;
}
