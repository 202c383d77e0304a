import { Buffer } from "node:buffer";
import type { DiscoveryResourcesResponse } from "@x402/extensions";
import { describe, expect, it } from "vitest";
import { paymentRequired } from "./answer.ts";
import { discoveryDocument, resourcePath } from "./discovery.ts";
import { pricedRoute } from "./test-support.ts";

const NOW = new Date("2026-12-02T00:00:00Z");
const parsed = (text: string): DiscoveryResourcesResponse => JSON.parse(text);
const v2AcceptsOf402 = (route: ReturnType<typeof pricedRoute>) =>
  JSON.parse(Buffer.from(paymentRequired(route, "https://seller.example/x", "").headers["payment-required"]!, "base64").toString()).accepts;

describe("x402 discovery (/.well-known/x402)", () => {
  it("lists every healthy route once, with exactly the accepts its 402 carries, in the Bazaar's envelope", () => {
    const plain = pricedRoute({ pattern: "/services/llm/*", description: "an LLM" });
    const several = pricedRoute(
      { pattern: "/services/two/*", alternatives: [{ network: "base", price: "0.002", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }] },
      { name: "two-payment" },
    );
    const down = pricedRoute({ pattern: "/services/down/*", upstreamHealthy: false }, { name: "down-payment" });
    const doc = parsed(discoveryDocument([several, down, plain], "https://seller.example", NOW));
    expect(doc.x402Version).toBe(2);
    expect(doc.items.map((item) => item.resource)).toEqual(["https://seller.example/services/llm/", "https://seller.example/services/two/"]);
    expect(doc.items[0]!.accepts).toEqual(v2AcceptsOf402(plain));
    expect(doc.items[1]!.accepts).toEqual(v2AcceptsOf402(several));
    expect(doc.items[1]!.accepts).toHaveLength(2);
    expect(doc.items[0]).toMatchObject({ type: "http", x402Version: 2, description: "an LLM", lastUpdated: "2026-12-02T00:00:00.000Z" });
    expect(doc.pagination).toEqual({ limit: 2, offset: 0, total: 2 });
  });

  it("an opted-in route's Bazaar extension is in its 402 and in its listing, the same object (one source)", () => {
    const bazaar = { info: { input: { type: "http", method: "GET", queryParams: {} } }, schema: { type: "object" } };
    const route = pricedRoute({ pattern: "/services/api/*", bazaar });
    const required = JSON.parse(Buffer.from(paymentRequired(route, "https://seller.example/services/api/x", "").headers["payment-required"]!, "base64").toString());
    expect(required.extensions).toEqual({ bazaar });
    expect(parsed(discoveryDocument([route], "https://seller.example", NOW)).items[0]!.extensions).toEqual({ bazaar });
    // Not opted in: no extensions at all.
    const plain = pricedRoute({ pattern: "/services/llm/*" });
    expect(JSON.parse(Buffer.from(paymentRequired(plain, "https://seller.example/x", "").headers["payment-required"]!, "base64").toString()).extensions).toBeUndefined();
    expect(parsed(discoveryDocument([plain], "https://seller.example", NOW)).items[0]!.extensions).toBeUndefined();
  });

  it("lists nothing, validly, when nothing is charged for", () => {
    expect(parsed(discoveryDocument([], "https://seller.example", NOW))).toEqual({ x402Version: 2, items: [], pagination: { limit: 0, offset: 0, total: 0 } });
  });

  it("names a resource by its pattern's prefix, and carries a hostile host only as escaped text", () => {
    expect(resourcePath("/services/llm/*")).toBe("/services/llm/");
    expect(resourcePath("/api/status")).toBe("/api/status");
    expect(resourcePath("/reports/*.pdf")).toBe("/reports/");
    const doc = parsed(discoveryDocument([pricedRoute()], 'http://evil"},{"x":"', NOW));
    expect(doc.items[0]!.resource).toBe('http://evil"},{"x":"/services/llm/');
  });
});
