import { describe, expect, it } from "vitest";
import { configWith, DEFAULT_CONFIG, parseGatewayRef } from "./config.ts";

describe("config", () => {
  it("defaults to the Go version's gateway and verifier", () => {
    expect(DEFAULT_CONFIG.gateway).toEqual({ name: "traefik-gateway", namespace: "traefik", sectionName: "web" });
    expect(DEFAULT_CONFIG.verifierUrl).toBe("http://x402-verifier.x402.svc.cluster.local:8080/verify");
  });

  it("overrides one gateway field without losing the others", () => {
    expect(configWith({ gateway: { sectionName: "websecure" } }).gateway).toEqual({ name: "traefik-gateway", namespace: "traefik", sectionName: "websecure" });
  });

  it("parses ns/name[/section]", () => {
    expect(parseGatewayRef("edge/public")).toEqual({ namespace: "edge", name: "public", sectionName: "web" });
    expect(parseGatewayRef("edge/public/https")).toEqual({ namespace: "edge", name: "public", sectionName: "https" });
    expect(parseGatewayRef("edge")).toBeUndefined();
    expect(parseGatewayRef("edge//x")).toBeUndefined();
  });
});
