// `up` (npm start): the whole stack on an embedded control plane built from real
// Kubernetes binaries, with real Traefik, a local chain, a sample upstream and a sample
// ServiceOffer; prints how to reach it, and removes everything on Ctrl-C.
// This is the local development stack, not the product: the image does not ship it.
import { parseArgs } from "node:util";
import { untilSignal } from "../cli/signals.ts";
import { applyOffer, waitReady } from "./cluster-helpers.ts";
import { startStack } from "./stack.ts";

export const UP_HELP = `Usage: npm start [-- --runtime node|deno]   (node dev/up.ts [--runtime node|deno])

Starts etcd, kube-apiserver and kube-controller-manager (built from the Go module proxy on
first use, cached in ~/.cache/x402-operator), Traefik with the Gateway API, a local chain
with a test USDC, a sample upstream, the controller and the verifier, and a sample
ServiceOffer. Prints the kubeconfig, the gateway URL and a paid request to try.
Ctrl-C stops and removes everything. Needs root for the upstream's network namespace.
`;

export async function up(args: string[], out: (t: string) => void, err: (t: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: { runtime: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) return out(UP_HELP), 0;
  const runtime = values.runtime ?? "node";
  if (runtime !== "node" && runtime !== "deno") return err("--runtime must be node or deno\n"), 2;
  out("starting the stack (the first run builds Kubernetes, etcd and Traefik: up to half an hour)...\n");
  const stack = await startStack();
  try {
    await stack.startVerifier(runtime);
    await stack.startController(runtime, "controller-0");
    await applyOffer(stack.admin, "llm", "demo", {
      type: "inference",
      model: { name: "qwen3:0.6b", runtime: "ollama" },
      upstream: { service: "ollama", namespace: "llm", port: 11434 },
      payment: { network: "base-sepolia", payTo: stack.payTo, price: { perRequest: "0.001" } },
      upstreamAuth: { secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY" }, scheme: "Bearer" },
    });
    await waitReady(stack.admin, "llm", "demo", 30_000);
    const payer = stack.chain.accounts[1]!;
    out([
      "",
      `export KUBECONFIG=${stack.adminKubeconfig}`,
      `gateway: ${stack.traefik.url}`,
      `chain: ${stack.chain.rpcUrl} (chain id ${stack.chain.chainId}, USDC at ${stack.chain.token})`,
      "",
      "ServiceOffer llm/demo is Ready. Unpaid, it answers 402:",
      `  curl -i ${stack.traefik.url}/services/demo/v1/models`,
      "A paid request (x402-fetch, with a funded test key):",
      `  X402_PAYER_KEY=${payer.privateKey} node_modules/.bin/node dev/pay.ts ${stack.traefik.url}/services/demo/v1/models`,
      "",
      "Apply your own ServiceOffer with kubectl; Ctrl-C stops and removes everything.",
      "",
    ].join("\n"));
    await untilSignal();
    out("stopping...\n");
  } finally {
    await stack.stop();
  }
  return 0;
}

if (import.meta.main ?? import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await up(process.argv.slice(2), (t) => void process.stdout.write(t), (t) => void process.stderr.write(t));
}
