// The library entry point, used as its doc comment shows.
import { describe, expect, it } from "vitest";
import * as library from "./mod.ts";

describe("mod.ts", () => {
  it("renders an offer as its doc comment says", () => {
    const offer = {
      apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name: "qwen", namespace: "llm" },
      spec: {
        upstream: { service: "ollama", namespace: "llm", port: 11434 },
        payment: { network: "base-sepolia", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", price: { perRequest: "0.001" } },
      },
    };
    const { rendered, errors } = library.renderOffers([offer], library.DEFAULT_CONFIG, "default", new Date(0));
    expect(errors).toEqual([]);
    expect(rendered[0]!.children.map((c) => `${c.kind}/${c.metadata.name}`)).toEqual(["PaymentRoute/qwen-payment", "Middleware/x402-qwen", "HTTPRoute/so-qwen"]);
  });

  it("is the package's one entry point, on Node and on Deno", async () => {
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
    const deno = JSON.parse(readFileSync(new URL("./deno.json", import.meta.url), "utf8"));
    expect(pkg.exports).toEqual({ ".": "./mod.ts" });
    expect(deno.exports).toEqual({ ".": "./mod.ts" });
  });
});
