// A verifier run as a user would without Kubernetes: routes from a file, answers for
// priced, free, more specific and disguised paths, an edit to the file picked up, and the
// edits that must never free a path: emptying the file, or rewriting it in place.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../dev/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../../dev/process.ts";

const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
/** USDC has 6 decimals: 5000 atomic units are "0.005". */
const priceOf6 = (amount: string) => `${amount.padStart(7, "0").slice(0, -6)}.${amount.padStart(7, "0").slice(-6)}`.replace(/\.?0+$/, "");
const route = (name: string, pattern: string, amount: string) => `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: ${name}, namespace: shop}
spec: {pattern: "${pattern}", price: "${priceOf6(amount)}", payTo: "${PAY_TO}", network: base}
`;
/** How long a route left out of the file is still served (the verifier's default). */
const REMOVAL_GRACE_MS = 3000;

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
    ["/api/premium/x?cheap=1", "90000"],
    ["/api/%70remium/x", "90000"],
    // Decoded once, as Traefik routes it: a literal "%70remium" segment under /api.
    ["/api/%2570remium/x", "5000"],
    // What Traefik (Go) and the verifier could read differently is refused, never priced cheaper.
    ["/api/premium/..%5C..%5Creports%5Cq3.csv", "status 400"],
    ["/public/../api/premium/x", "status 400"],
    ["//api//premium/./x", "status 400"],
    ["/api%2Fpremium%2Fx", "status 400"],
    ["/api/premium/%2e%2e/%2e%2e/free", "status 400"],
  ])("%s costs %s", async (uri, expected) => {
    expect(await priceOf(uri)).toBe(expected);
  });

  it("refuses to guess without X-Forwarded-Uri", async () => {
    expect((await fetch(`${base}/verify`)).status).toBe(403);
  });

  it("picks up an edited routes file within seconds, and drops removed routes after the grace period", async () => {
    const next = `${file}.next`;
    writeFileSync(next, [route("api", "/api/*", "6000"), route("new", "/new/*", "42")].join("---\n"));
    renameSync(next, file);
    await waitFor("new price served", async () => (await priceOf("/api/chat")) === "6000", 5000);
    expect(await priceOf("/new/thing")).toBe("42");
    expect(await priceOf("/api/premium/chat")).toBe("90000");
    await waitFor("removed route dropped", async () => (await priceOf("/api/premium/chat")) === "6000", REMOVAL_GRACE_MS + 3000);
    expect(await priceOf("/reports/q3.pdf")).toBe("free");
  });

  it("keeps the last good table when the file becomes invalid YAML", async () => {
    writeFileSync(file, "apiVersion: [unclosed");
    await new Promise((r) => setTimeout(r, 1500));
    expect(await priceOf("/api/chat")).toBe("6000");
    expect(verifier.output()).toContain("routes file invalid; serving the last table");
  });

  /** Every answer for the paths while `during` runs, one request per path every 20 ms. */
  const answersDuring = async (paths: string[], during: () => Promise<void>) => {
    const seen = new Set<string>();
    let done = false;
    const sampling = (async () => {
      while (!done) {
        for (const path of paths) seen.add(`${path} ${await priceOf(path)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await during();
    } finally {
      done = true;
      await sampling;
    }
    return [...seen].sort();
  };
  const GOOD = [route("api", "/api/*", "6000"), route("new", "/new/*", "42"), route("premium", "/api/premium/*", "90000"), route("report", "/reports/*.pdf", "700")].join("---\n");
  const PRICES = ["/api/chat 6000", "/api/premium/x 90000", "/new/thing 42", "/reports/q3.pdf 700"];
  const restore = async () => {
    writeFileSync(file, GOOD);
    await waitFor("good file served", async () => (await priceOf("/reports/q3.pdf")) === "700", 5000);
  };

  it.each([
    ["emptied", ""],
    ["left with comments only", "# routes moved to routes.d/\n"],
  ])("keeps every price when the file is %s", async (_how, text) => {
    await restore();
    const refusals = () => verifier.output().split("routes file has no documents; serving the last table").length;
    const before = refusals();
    const answers = await answersDuring(["/api/chat", "/api/premium/x", "/new/thing", "/reports/q3.pdf"], async () => {
      writeFileSync(file, text);
      await waitFor("refusal logged", () => Promise.resolve(refusals() > before), 5000);
      await new Promise((r) => setTimeout(r, REMOVAL_GRACE_MS + 500));
    });
    expect(answers).toEqual(PRICES);
  }, 20_000);

  it.each([
    ["half its bytes", (text: string) => text.slice(0, Math.floor(text.length / 2))],
    ["a document boundary", (text: string) => text.slice(0, text.indexOf("---", text.indexOf("name: new")) + 4)],
  ])("never frees a path while the file is truncated, written up to %s, and completed 200 ms later", async (_cut, cut) => {
    await restore();
    const answers = await answersDuring(["/api/premium/x", "/reports/q3.pdf"], async () => {
      writeFileSync(file, "");
      writeFileSync(file, cut(GOOD));
      await new Promise((r) => setTimeout(r, 200));
      writeFileSync(file, GOOD);
      await new Promise((r) => setTimeout(r, REMOVAL_GRACE_MS + 1000));
    });
    expect(answers).toEqual(["/api/premium/x 90000", "/reports/q3.pdf 700"]);
  }, 20_000);
});
