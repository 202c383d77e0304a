import { describe, expect, it } from "vitest";
import { REGISTRATION_TYPE } from "../core/agent-registration.ts";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { agentDocument, hostDocument } from "./agent-documents.ts";
import { pricedRoute } from "./test-support.ts";

const REGISTRY = "0x8004A818BFB912233c491871b3d84c89A494BD9e";
const document = (name: string, agentId: number, registry = REGISTRY) => ({
  type: REGISTRATION_TYPE, name, description: `${name} agent`, services: [{ name: "web", endpoint: `https://seller.example/services/${name}` }],
  x402Support: true, active: true, registrations: [{ agentId, agentRegistry: `eip155:84532:${registry}` }],
});
const routeOf = (namespace: string, agent: string, agentId: number, registry?: string) =>
  pricedRoute({ pattern: `/services/${agent}/*`, registration: { agent, document: document(agent, agentId, registry) } }, { namespace, name: `${agent}-payment` });
/** The chain: agent 1 is shop/qwen on this host, agent 2 lives elsewhere, agent 3 is shop/llama's. */
const onChain: Record<string, string> = {
  "1": "https://seller.example/.well-known/agent-registration.json?agent=shop/qwen",
  "2": "https://elsewhere.example/.well-known/agent-registration.json?agent=shop/qwen",
  "3": "https://seller.example/.well-known/agent-registration.json?agent=shop/llama",
};
const reader = async (_network: unknown, _registry: string, agentId: bigint) => onChain[String(agentId)];

describe("agent registration documents", () => {
  it("serves an agent's document only from a route in the agent's own namespace", () => {
    const routes = [routeOf("shop", "qwen", 1), routeOf("tenant", "evil", 1)];
    expect(agentDocument(routes, "shop/qwen")?.name).toBe("qwen");
    expect(agentDocument(routes, "tenant/evil")?.name).toBe("evil");
    // A tenant's route naming the agent "qwen" is still the tenant's: shop/qwen stays shop's.
    expect(agentDocument([routeOf("tenant", "qwen", 1)], "shop/qwen")).toBeUndefined();
    expect(agentDocument(routes, "shop/none")).toBeUndefined();
    expect(agentDocument(routes, "no-slash")).toBeUndefined();
  });

  it("the host's document lists every offer's web service, and only registrations the chain puts on this host for that very agent", async () => {
    const routes = [
      routeOf("shop", "qwen", 1),
      routeOf("tenant", "thief", 3), // claims shop/llama's agent
      routeOf("shop", "far", 2), // an agent whose URI is on another host
      routeOf("shop", "fake", 1, "0x000000000000000000000000000000000000dEaD"), // not an ERC-8004 registry
      pricedRoute({}, { name: "plain" }), // no registration at all
    ];
    const host = await hostDocument(routes, "https://seller.example", DEFAULT_NETWORKS, reader);
    expect(host).toMatchObject({ type: REGISTRATION_TYPE, name: "seller.example", x402Support: true, active: true });
    expect(host.services.map((s) => s.endpoint)).toEqual(["qwen", "thief", "far", "fake"].map((n) => `https://seller.example/services/${n}`));
    expect(host.registrations).toEqual([{ agentId: 1, agentRegistry: `eip155:84532:${REGISTRY}` }]);
    // A document declaring "web" somewhere else, or under another route's prefix, is not listed by the host; a repeat once.
    const phish = pricedRoute({ pattern: "/services/own/*", registration: { agent: "own", document: { ...document("own", 9), services: [
      { name: "web", endpoint: "https://phish.example/services/own" }, { name: "web", endpoint: "https://seller.example/services/qwen" },
      { name: "web", endpoint: "https://seller.example/services/own/v1" }, { name: "web", endpoint: "https://seller.example/services/own/v1" },
    ] } } }, { namespace: "tenant", name: "own-payment" });
    expect((await hostDocument([phish], "https://seller.example", DEFAULT_NETWORKS, reader)).services).toEqual([{ name: "web", endpoint: "https://seller.example/services/own/v1" }]);
    // Reached under another name, nothing on chain points there: no registration is vouched for.
    expect((await hostDocument(routes, "http://other.example", DEFAULT_NETWORKS, reader)).registrations).toEqual([]);
    // Without a chain to read, none either.
    expect((await hostDocument(routes, "https://seller.example", DEFAULT_NETWORKS)).registrations).toEqual([]);
  });
});
