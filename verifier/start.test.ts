// startVerifier() as a program other than our command line would call it: routes from a
// file, a remote facilitator (never called for an unpaid request), real HTTP on loopback.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import { startVerifier } from "./start.ts";
import { quiet } from "./test-support.ts";
import { chooseFacilitator } from "./x402/choose-facilitator.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe("startVerifier", () => {
  it("serves the routes of its file, is ready once they are loaded, and stops", async () => {
    const dir = mkdtempSync(join(tmpdir(), "x402-start-"));
    dirs.push(dir);
    const file = join(dir, "routes.yaml");
    writeFileSync(file, `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: api, namespace: shop}
spec: {pattern: "/api/*", price: "0.005", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", network: base}
`);
    const verifier = await startVerifier({
      listen: { hostname: "127.0.0.1", port: 0 }, routes: { file }, verifyOnly: false, answerTimeoutMs: 5000, maxConcurrentPayments: 4,
      facilitator: chooseFacilitator({ facilitator: "http://127.0.0.1:9/", rpcUrls: {} }), networks: DEFAULT_NETWORKS, log: quiet,
    });
    const base = `http://${verifier.hostname}:${verifier.port}`;
    try {
      // A file is applied once it reads the same twice: ready within a poll or two.
      const deadline = Date.now() + 5000;
      while ((await fetch(`${base}/readyz`)).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const priced = await fetch(`${base}/verify`, { headers: { "x-forwarded-uri": "/api/chat" } });
      expect(priced.status).toBe(402);
      expect((await priced.json()).accepts[0]).toMatchObject({ maxAmountRequired: "5000", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" });
      expect((await fetch(`${base}/verify`, { headers: { "x-forwarded-uri": "/free" } })).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain("x402_");
    } finally {
      await verifier.stop();
    }
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it("names what is wrong with its facilitator settings", () => {
    expect(() => chooseFacilitator({ facilitator: "local", rpcUrls: {} })).toThrow("--facilitator local needs --rpc");
  });
});
