// A verifier run as a user would without Kubernetes: routes from a file, answers for
// priced, free, more specific and disguised paths, and an edit to the file picked up.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../support/process.ts";

const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const route = (name: string, pattern: string, amount: string) => `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: ${name}, namespace: shop}
spec: {pattern: "${pattern}", price: "0", amount: "${amount}", payTo: "${PAY_TO}", network: base, priceModel: perRequest}
`;

describe("standalone verifier with a routes file", () => {
  let verifier: Running;
  let base = "";
  let file = "";

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "x402-standalone-"));
    file = join(dir, "routes.yaml");
    writeFileSync(file, [route("api", "/api/*", "5000"), route("api-premium", "/api/premium/*", "90000"), route("report", "/reports/*.pdf", "700"), route("exact", "/api/status", "1")].join("---\n"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    verifier = start("node", "main.ts", ["verifier", "--routes", file, "--listen", `127.0.0.1:${port}`, "--facilitator", "https://facilitator.invalid"]);
    await waitFor("verifier ready", () => httpReady(`${base}/readyz`), 30_000, verifier);
  }, 60_000);
  afterAll(async () => {
    await verifier?.stop();
    rmSync(dirname(file), { recursive: true, force: true });
  });

  const priceOf = async (uri: string) => {
    const response = await fetch(`${base}/verify`, { headers: { "x-forwarded-uri": uri } });
    if (response.status === 200) return "free";
    if (response.status !== 402) return `status ${response.status}`;
    return (await response.json()).accepts[0].maxAmountRequired as string;
  };

  it.each([
    ["/api/chat", "5000"],
    ["/api", "5000"],
    ["/api/premium/chat", "90000"],
    ["/api/status", "1"],
    ["/api/status/more", "5000"],
    ["/reports/q3.pdf", "700"],
    ["/reports/q3.csv", "free"],
    ["/apiary", "free"],
    ["/", "free"],
    ["/public/../api/premium/x", "90000"],
    ["//api//premium/./x?cheap=1", "90000"],
    ["/api/%70remium/x", "90000"],
    ["/api%2Fpremium%2Fx", "90000"],
    ["/api/%2570remium/x", "90000"],
  ])("%s costs %s", async (uri, expected) => {
    expect(await priceOf(uri)).toBe(expected);
  });

  it("refuses to guess without X-Forwarded-Uri", async () => {
    expect((await fetch(`${base}/verify`)).status).toBe(403);
  });

  it("picks up an edited routes file within seconds", async () => {
    const next = `${file}.next`;
    writeFileSync(next, [route("api", "/api/*", "6000"), route("new", "/new/*", "42")].join("---\n"));
    renameSync(next, file);
    await waitFor("new price served", async () => (await priceOf("/api/chat")) === "6000", 5000);
    expect(await priceOf("/new/thing")).toBe("42");
    expect(await priceOf("/api/premium/chat")).toBe("6000");
  });

  it("keeps the last good table when the file becomes invalid YAML", async () => {
    writeFileSync(file, "apiVersion: [unclosed");
    await new Promise((r) => setTimeout(r, 1500));
    expect(await priceOf("/api/chat")).toBe("6000");
    expect(verifier.output()).toContain("routes file invalid; serving the last table");
  });
});
