import { describe, expect, it } from "vitest";
import { createRegistry } from "./metrics.ts";
import { opsApp } from "./ops-app.ts";

describe("opsApp", () => {
  it("is alive at once, ready when the process says so, and renders its metrics", async () => {
    let reason: string | undefined = "caches not synced yet";
    const registry = createRegistry();
    registry.counter("x402_example_total", "an example").inc();
    const app = opsApp({ notReady: () => reason, registry });
    expect(await (await app.request("/healthz")).text()).toBe("ok");
    const waiting = await app.request("/readyz");
    expect([waiting.status, await waiting.text()]).toEqual([503, "caches not synced yet"]);
    reason = undefined;
    expect((await app.request("/readyz")).status).toBe(200);
    const metrics = await app.request("/metrics");
    expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4");
    expect(await metrics.text()).toContain("x402_example_total 1");
  });
});
