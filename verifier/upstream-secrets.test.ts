import { describe, expect, it } from "vitest";
import type { PricedRoute } from "./routes/priced-route.ts";
import { directorySecrets, SecretMissing, upstreamAuthorization } from "./upstream-secrets.ts";

const route = { namespace: "llm", upstreamAuth: { secretKeyRef: { name: "litellm-secrets", key: "KEY" }, scheme: "Bearer" } } as unknown as PricedRoute;

describe("upstreamAuthorization", () => {
  it("reads the Secret once per TTL and prefixes the scheme", async () => {
    let reads = 0;
    let time = 0;
    const auth = upstreamAuthorization(async () => (reads++, "sk-1\n"), () => time, 1000);
    expect(await auth(route)).toEqual({ ok: true, authorization: "Bearer sk-1" });
    expect(await auth(route)).toEqual({ ok: true, authorization: "Bearer sk-1" });
    expect(reads).toBe(1);
    time = 2000;
    await auth(route);
    expect(reads).toBe(2);
  });

  it("keeps the last value while the API server is unreachable, but not for a deleted Secret", async () => {
    let time = 0;
    let failure: Error | undefined;
    const auth = upstreamAuthorization(async () => {
      if (failure) throw failure;
      return "sk-1";
    }, () => time, 1000);
    await auth(route);
    time = 5000;
    failure = new Error("connect ECONNREFUSED");
    expect(await auth(route)).toEqual({ ok: true, authorization: "Bearer sk-1" });
    failure = new SecretMissing("Secret llm/litellm-secrets not found");
    expect(await auth(route)).toEqual({ ok: false, problem: "Secret llm/litellm-secrets not found" });
  });

  it("sends nothing for a route without upstream auth", async () => {
    const auth = upstreamAuthorization(async () => "x", () => 0);
    expect(await auth({ namespace: "llm" } as PricedRoute)).toEqual({ ok: true });
  });

  it.each([["sk-1\nX-Injected: 1"], ["sk-\u0000"], ["sk-é"], [""]])("refuses a Secret value that cannot be a header: %j", async (value) => {
    const auth = upstreamAuthorization(async () => value, () => 0);
    const result = await auth(route);
    if (result.ok) throw new Error("accepted a value that cannot be a header");
    expect(result.problem).toContain("Secret llm/litellm-secrets");
    expect(result.problem).not.toContain(value || "never");
  });

  it("tells a missing mounted Secret from an unreadable one", async () => {
    await expect(directorySecrets("/nonexistent-dir")("llm", "s", "k")).rejects.toBeInstanceOf(SecretMissing);
  });
});
