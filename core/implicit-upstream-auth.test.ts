import { describe, expect, it } from "vitest";
import { LITELLM_AUTH, upstreamAuthOf } from "./implicit-upstream-auth.ts";

describe("upstreamAuthOf", () => {
  const own = { secretKeyRef: { name: "mine", key: "TOKEN" } };

  it("sends LiteLLM's master key to an offer in front of LiteLLM that names none, as obol-stack does", () => {
    expect(upstreamAuthOf({ upstream: { service: "litellm" } })).toEqual(LITELLM_AUTH);
    expect(LITELLM_AUTH).toEqual({ secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY" }, scheme: "Bearer" });
  });

  it("keeps an offer's own upstreamAuth, and adds nothing for any other service", () => {
    expect(upstreamAuthOf({ upstream: { service: "litellm" }, upstreamAuth: own })).toBe(own);
    for (const service of ["ollama", "vllm", "litellm-proxy", "my-litellm"]) expect(upstreamAuthOf({ upstream: { service } })).toBeUndefined();
  });
});
