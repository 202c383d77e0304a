import { declareDiscoveryExtension, validateDiscoveryExtension } from "@x402/extensions/bazaar";
import { describe, expect, it } from "vitest";
import { bazaarExtension } from "./bazaar.ts";
import type { ServiceOfferSpec } from "./service-offer.ts";

const spec = (extra: Partial<ServiceOfferSpec>) => ({ upstream: { service: "s", namespace: "n", port: 80 }, payment: { network: "base-sepolia", payTo: "0x", price: { perRequest: "0.001" } }, ...extra }) as ServiceOfferSpec;

describe("bazaarExtension", () => {
  it("is absent unless the offer opts in", () => {
    expect(bazaarExtension(spec({}))).toBeUndefined();
    expect(bazaarExtension(spec({ discovery: { bazaar: false } }))).toBeUndefined();
  });

  it("is exactly what the official declareDiscoveryExtension declares, and the official validator accepts it", () => {
    const cases: [ServiceOfferSpec, Parameters<typeof declareDiscoveryExtension>[0]][] = [
      [spec({ type: "inference", model: { name: "qwen3:0.6b", runtime: "ollama" }, discovery: { bazaar: true } }), {
        method: "POST", bodyType: "json", input: { model: "qwen3:0.6b", messages: [{ role: "user", content: "Hello" }] },
        inputSchema: { properties: { model: { type: "string" }, messages: { type: "array" } }, required: ["messages"] },
      } as never],
      [spec({ type: "inference", discovery: { bazaar: true, input: { prompt: "hi" }, output: { text: "hello" } } }), { method: "POST", bodyType: "json", input: { prompt: "hi" }, output: { example: { text: "hello" } } } as never],
      [spec({ type: "http", discovery: { bazaar: true } }), { method: "GET" } as never],
      [spec({ type: "http", discovery: { bazaar: true, input: { q: "x" }, output: { answer: "hi" } } }), { method: "GET", input: { q: "x" }, output: { example: { answer: "hi" } } } as never],
    ];
    for (const [offer, config] of cases) {
      const ours = bazaarExtension(offer)!;
      expect(ours).toEqual(declareDiscoveryExtension(config).bazaar);
      expect(validateDiscoveryExtension(ours as never)).toEqual({ valid: true });
    }
  });
});
