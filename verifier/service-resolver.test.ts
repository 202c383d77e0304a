import { describe, expect, it } from "vitest";
import type { KubeClient } from "../kube/client.ts";
import { KubeApiError } from "../kube/errors.ts";
import { serviceResolver } from "./service-resolver.ts";

/** An API server that knows one Service, ollama in llm, port 11434 -> 8080 on two endpoints (one not ready). */
function api(calls: string[] = []): KubeClient {
  return {
    server: "https://api",
    stream: () => Promise.resolve(),
    request: async <T>(_method: string, path: string) => {
      calls.push(path);
      if (path.endsWith("/services/ollama")) return { spec: { ports: [{ name: "http", port: 11434, targetPort: 8080 }] } } as T;
      if (path.endsWith("/services/metadata")) return { spec: { type: "ExternalName", externalName: "169.254.169.254", ports: [{ port: 80 }] } } as T;
      if (path.includes("/services/")) throw new KubeApiError("not-found", 404, "not found");
      return {
        items: [{
          addressType: "IPv4", ports: [{ name: "http", port: 8080 }],
          endpoints: [{ addresses: ["10.0.0.1"] }, { addresses: ["10.0.0.2"] }, { addresses: ["10.0.0.9"], conditions: { ready: false } }],
        }],
      } as T;
    },
  };
}

describe("serviceResolver", () => {
  it("sends a Service URL to its ready endpoints in turn, keeping path and query", async () => {
    const resolve = serviceResolver(api());
    const hosts = [];
    for (let i = 0; i < 4; i++) {
      const resolved = await resolve(new URL("http://ollama.llm.svc:11434/v1/chat?x=1"));
      if (!resolved.ok) throw new Error(resolved.message);
      hosts.push(resolved.url.host);
      expect(resolved.url.pathname + resolved.url.search).toBe("/v1/chat?x=1");
    }
    expect(hosts).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.1:8080", "10.0.0.2:8080"]);
  });

  it("asks the API again only after a few seconds", async () => {
    const calls: string[] = [];
    let now = 0;
    const resolve = serviceResolver(api(calls), () => now);
    await resolve(new URL("http://ollama.llm.svc.cluster.local:11434/"));
    await resolve(new URL("http://ollama.llm.svc:11434/"));
    expect(calls.length).toBe(2); // the Service and its EndpointSlices, once for both spellings
    now = 10_000;
    await resolve(new URL("http://ollama.llm.svc:11434/"));
    expect(calls.length).toBe(4);
  });

  it("never follows an ExternalName, which could name any host (a metadata endpoint, the API server)", async () => {
    expect(await serviceResolver(api())(new URL("http://metadata.llm.svc:80/latest"))).toMatchObject({ ok: false, message: expect.stringContaining("ExternalName") });
  });

  it("says why when a Service is missing or has no such port", async () => {
    const resolve = serviceResolver(api());
    expect(await resolve(new URL("http://other.llm.svc:80/"))).toMatchObject({ ok: false, message: expect.stringContaining("not found") });
    expect(await resolve(new URL("http://ollama.llm.svc:9999/"))).toMatchObject({ ok: false, message: expect.stringContaining("no port 9999") });
  });
});
