import { describe, expect, it } from "vitest";
import { agentRegistry, registrationDocument, registrationIssues, REGISTRATION_TYPE, tombstoneOf } from "./agent-registration.ts";
import { DEFAULT_NETWORKS, findNetwork } from "./networks.ts";
import type { ServiceOfferSpec } from "./service-offer.ts";

const baseSepolia = findNetwork(DEFAULT_NETWORKS, "base-sepolia")!;
const polygon = findNetwork(DEFAULT_NETWORKS, "polygon")!;
const id = { namespace: "llm", name: "agent" };
const spec = (registration: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) =>
  ({ type: "inference", model: { name: "llama3.2:3b", runtime: "ollama" }, registration, ...extra }) as unknown as ServiceOfferSpec;
// The fields of tests/golden/registration-fields-preserved, as obol-stack's offers spell them.
const obolStackRegistration = {
  enabled: true, name: "Llama Agent", description: "Llama 3.2 3B on a home GPU", image: "https://example.com/a.png",
  services: [{ name: "A2A", endpoint: "https://example.com/a2a", version: "0.3" }], skills: ["chat"], domains: ["example.com"],
  supportedTrust: ["reputation"], metadata: { gpu: "rtx4090", tags: ["fast"] }, futureField: "kept",
};

describe("ERC-8004 registration document", () => {
  it("is built from obol-stack's registration fields: the web endpoint first, skills and domains as OASF, then the declared services", () => {
    const document = registrationDocument(id, spec(obolStackRegistration), "/services/agent", baseSepolia, "https://seller.example/", "42");
    expect(document).toEqual({
      type: REGISTRATION_TYPE,
      name: "Llama Agent",
      description: "Llama 3.2 3B on a home GPU",
      image: "https://example.com/a.png",
      services: [
        { name: "web", endpoint: "https://seller.example/services/agent" },
        { name: "OASF", version: "0.8", skills: ["chat"], domains: ["example.com"] },
        { name: "A2A", endpoint: "https://example.com/a2a", version: "0.3" },
      ],
      x402Support: true,
      active: true,
      registrations: [{ agentId: 42, agentRegistry: "eip155:84532:0x8004A818BFB912233c491871b3d84c89A494BD9e" }],
      supportedTrust: ["reputation"],
      // Nothing dropped: a value that is not a string is kept as its JSON.
      metadata: { gpu: "rtx4090", tags: '["fast"]' },
    });
  });

  it("falls back on the offer for what the registration leaves out, and lists no registration before there is an agent id", () => {
    const document = registrationDocument(id, spec({ enabled: true }), "/services/agent", baseSepolia, "https://seller.example");
    expect(document).toEqual({
      type: REGISTRATION_TYPE, name: "agent", description: "llama3.2:3b inference via x402 micropayments",
      services: [{ name: "web", endpoint: "https://seller.example/services/agent" }], x402Support: true, active: true, registrations: [],
    });
    expect(registrationDocument(id, spec({ enabled: true }, { type: "http", model: undefined }), "/x", baseSepolia, "https://s.example")?.description).toBe("x402 payment-gated http service: agent");
  });

  it("publishes nothing unless registration is enabled", () => {
    expect(registrationDocument(id, spec(undefined), "/services/agent", baseSepolia, "https://s.example")).toBe(undefined);
    expect(registrationDocument(id, spec({ enabled: false, name: "x" }), "/services/agent", baseSepolia, "https://s.example")).toBe(undefined);
  });

  it("keeps an agent id beyond JSON's exact integers as a string", () => {
    const document = registrationDocument(id, spec({ enabled: true }), "/s", baseSepolia, "https://s.example", "123456789012345678901234567890");
    expect(document?.registrations[0]?.agentId).toBe("123456789012345678901234567890");
  });

  it("tombstones an agent: inactive, no longer paid through x402, said so in its description", () => {
    const document = registrationDocument(id, spec({ enabled: true }), "/s", baseSepolia, "https://s.example", "7")!;
    expect(tombstoneOf(document)).toMatchObject({ active: false, x402Support: false, description: `${document.description} (deactivated)`, registrations: document.registrations });
  });

  it("names each field an enabled registration gets wrong, and the chains with no Identity Registry", () => {
    expect(agentRegistry(polygon)).toBe(undefined);
    expect(registrationIssues(spec(obolStackRegistration), baseSepolia)).toEqual([]);
    expect(registrationIssues(spec({ enabled: false, image: "not a url" }), baseSepolia)).toEqual([]);
    const fields = registrationIssues(spec({ enabled: true, name: "", image: "ftp://x", description: "d".repeat(1025), services: [{ endpoint: "" }, { name: "MCP", endpoint: "https://m.example", version: 3 }] }), polygon)
      .map((issue) => issue.field);
    expect(fields).toEqual([
      "spec.registration.enabled", "spec.registration.name", "spec.registration.description", "spec.registration.image",
      "spec.registration.services[0].name", "spec.registration.services[0].endpoint", "spec.registration.services[1].version",
    ]);
  });
});
