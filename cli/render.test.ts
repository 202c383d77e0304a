// The render command as a user runs it, on both runtimes: same bytes out, same exit codes.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const RUNTIMES = {
  node: (args: string[]) => [bin("node"), "main.ts", ...args],
  deno: (args: string[]) => [bin("deno"), "run", "--allow-all", "main.ts", ...args],
};

function run(runtime: keyof typeof RUNTIMES, args: string[], input: string) {
  const [command, ...rest] = RUNTIMES[runtime](args);
  const result = spawnSync(command!, rest, { cwd: root, input, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const offers = `
apiVersion: obol.org/v1alpha1
kind: ServiceOffer
metadata: {name: zeta, namespace: shop}
spec:
  upstream: {service: api, namespace: backend, port: 8080}
  payment: {network: base, payTo: "0x2222222222222222222222222222222222222222", price: {perHour: "0.6"}}
  path: /zeta/
---
apiVersion: obol.org/v1alpha1
kind: ServiceOffer
metadata: {name: alpha, namespace: shop}
spec:
  type: inference
  model: {name: llama3, runtime: ollama}
  upstream: {service: ollama, namespace: shop}
  payment: {network: polygon, payTo: "0x3333333333333333333333333333333333333333", price: {perRequest: "0.25"}}
`;

describe("render command", () => {
  it("prints the same stream on Node and on Deno", { timeout: 60_000 }, () => {
    const node = run("node", ["render", "-f", "-"], offers);
    const deno = run("deno", ["render", "-f", "-"], offers);
    expect(node.stderr).toBe("");
    expect(node.code).toBe(0);
    expect(deno.code).toBe(0);
    expect(deno.stdout).toBe(node.stdout);
    const docs = parseAllDocuments(node.stdout).map((d) => d.toJS());
    expect(docs.map((d) => `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`)).toEqual([
      "PaymentRoute shop/alpha-payment",
      "Middleware shop/x402-alpha",
      "HTTPRoute shop/so-alpha",
      "PaymentRoute shop/zeta-payment",
      "Middleware shop/x402-zeta",
      "ReferenceGrant backend/so-shop-zeta",
      "HTTPRoute shop/so-zeta",
    ]);
    // 0.6 USDC an hour, 5 minutes a request: 0.05 USDC.
    expect(docs[3].spec).toMatchObject({ price: "0.05", amount: "50000", pattern: "/zeta/*", priceModel: "perHour" });
    expect(docs[1].spec.forwardAuth.address).toBe("http://x402-verifier.x402.svc.cluster.local:8080/verify?route=shop%2Falpha-payment");
  });

  it.each([
    ["an invalid value", offers.replace("0x3333333333333333333333333333333333333333", "0x33"), "spec.payment.payTo: must be 0x followed by 40 hex digits"],
    [
      "a field it does not implement (never rendering the offer without it)",
      offers.replace('price: {perRequest: "0.25"}}', 'price: {perRequest: "0.25"}}\n  limits: {rps: 5}'),
      "spec.limits: is not implemented yet",
    ],
    [
      "a token without the decimals its price is counted in",
      offers.replace('price: {perRequest: "0.25"}}', 'price: {perRequest: "0.25"}, asset: {address: "0x4444444444444444444444444444444444444444", symbol: OBOL, transferMethod: permit2}}'),
      "spec.payment.asset.decimals: is required",
    ],
  ])("exits 1 naming the offer and the field for %s", { timeout: 60_000 }, (_what, input, message) => {
    for (const runtime of ["node", "deno"] as const) {
      const result = run(runtime, ["render", "-f", "-"], input);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(`ServiceOffer shop/alpha: ${message}`);
    }
  });

  it("honours --gateway and --verifier-url", { timeout: 60_000 }, () => {
    const result = run("node", ["render", "-f", "-", "--gateway", "edge/public/websecure", "--verifier-url", "http://v.pay:9000/verify"], offers);
    const docs = parseAllDocuments(result.stdout).map((d) => d.toJS());
    expect(docs[2].spec.parentRefs).toEqual([{ name: "public", namespace: "edge", sectionName: "websecure" }]);
    expect(docs[1].spec.forwardAuth.address).toBe("http://v.pay:9000/verify?route=shop%2Falpha-payment");
  });

  it("shows the ERC-8004 registration document an offer would publish, as comments the stream's YAML ignores", { timeout: 60_000 }, () => {
    const agent = `
apiVersion: obol.org/v1alpha1
kind: ServiceOffer
metadata: {name: agent, namespace: llm}
spec:
  type: inference
  model: {name: "qwen3:0.6b", runtime: ollama}
  upstream: {service: ollama, namespace: llm, port: 11434}
  payment: {network: base-sepolia, payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", price: {perRequest: "0.001"}}
  registration: {enabled: true, name: Qwen, skills: [chat]}
status: {agentId: "7"}
`;
    const result = run("node", ["render", "-f", "-", "--public-url", "https://seller.example"], agent);
    expect(result.code).toBe(0);
    expect(parseAllDocuments(result.stdout).map((d) => d.toJS().kind)).toEqual(["PaymentRoute", "Middleware", "HTTPRoute"]);
    const comment = result.stdout.slice(result.stdout.indexOf("# ServiceOffer llm/agent: ERC-8004 registration document (https://seller.example/.well-known/agent-registration.json)"));
    const document = JSON.parse(comment.split("\n").slice(1).filter((line) => line.startsWith("# ")).map((line) => line.slice(2)).join("\n"));
    expect(document).toMatchObject({
      name: "Qwen", x402Support: true, active: true,
      services: [{ name: "web", endpoint: "https://seller.example/services/agent" }, { name: "OASF", version: "0.8", skills: ["chat"] }],
      registrations: [{ agentId: 7, agentRegistry: "eip155:84532:0x8004A818BFB912233c491871b3d84c89A494BD9e" }],
    });
    expect(run("node", ["render", "-f", "-", "--public-url", "https://seller.example/path"], agent).code).toBe(2);
  });

  it("refuses usage errors with exit code 2", { timeout: 60_000 }, () => {
    expect(run("node", ["render"], "").code).toBe(2);
    expect(run("node", ["render", "-f", "-", "--gateway", "nope"], offers).code).toBe(2);
    expect(run("node", ["nonsense"], "").code).toBe(2);
  });
});
