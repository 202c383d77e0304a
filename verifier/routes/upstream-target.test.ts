import { describe, expect, it } from "vitest";
import { upstreamTarget, upstreamUrl } from "./upstream-target.ts";

const target = (url: string, stripPrefix?: string) => {
  const result = upstreamTarget({ url, stripPrefix }, "shop", "file");
  if (!result.ok) throw new Error(result.issue.message);
  return result.target;
};

describe("upstreamTarget", () => {
  it("takes any http(s) upstream from a routes file", () => {
    expect(upstreamTarget({ url: "https://api.example.com:8443/base" }, "shop", "file")).toMatchObject({ ok: true });
  });

  it("refuses credentials, queries and other schemes, naming the field", () => {
    for (const url of ["http://user:pw@x", "http://x/?a=1", "http://x/#f", "ftp://x", "http://"]) {
      expect(upstreamTarget({ url }, "shop", "file")).toMatchObject({ ok: false, issue: { field: "spec.upstream.url" } });
    }
  });

  it("lets a cluster PaymentRoute reach only a Service of its own namespace", () => {
    expect(upstreamTarget({ url: "http://ollama.shop.svc:11434" }, "shop", "cluster").ok).toBe(true);
    expect(upstreamTarget({ url: "http://ollama.shop.svc.cluster.local:11434" }, "shop", "cluster").ok).toBe(true);
    for (const url of [
      "http://ollama.other.svc:11434", "http://kubernetes.default.svc", "http://169.254.169.254/latest", "http://10.0.0.1",
      "http://ollama.shop.svc.evil.com", "http://localhost:8080", "http://x.shop.svc.cluster.local.attacker",
    ]) {
      expect({ url, result: upstreamTarget({ url }, "shop", "cluster") }).toMatchObject({ url, result: { ok: false, issue: { message: expect.stringContaining("own namespace") } } });
    }
  });
});

describe("upstreamUrl", () => {
  it("strips the public prefix on a segment boundary and keeps the query as sent", () => {
    const t = target("http://127.0.0.1:9000", "/services/llm");
    expect(upstreamUrl(t, "/services/llm/v1/chat", "?stream=true").href).toBe("http://127.0.0.1:9000/v1/chat?stream=true");
    expect(upstreamUrl(t, "/services/llm", "").href).toBe("http://127.0.0.1:9000/");
    expect(upstreamUrl(t, "/services/llmx/a", "").href).toBe("http://127.0.0.1:9000/services/llmx/a");
  });

  it("appends to the upstream's base path and encodes each segment again, so the upstream reads the priced path", () => {
    const t = target("http://up:1/api/", "/p");
    expect(upstreamUrl(t, "/p/a b/c%d", "").href).toBe("http://up:1/api/a%20b/c%25d");
    expect(upstreamUrl(t, "/p/ä", "").pathname).toBe("/api/%C3%A4");
  });
});
