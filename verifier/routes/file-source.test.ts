// The routes file source on real files: every way a file can be wrong (emptied, cut short,
// half written, a typo, a stray document, gone) keeps prices; removals wait for a grace period.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../../dev/process.ts";
import type { Logger } from "../../adapters/log.ts";
import { DEFAULT_NETWORKS } from "../../core/networks.ts";
import type { RouteSet } from "./set.ts";
import { watchRoutesFile } from "./file-source.ts";
import type { RouteSource } from "./source.ts";

const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
/** USDC has 6 decimals: 5000 atomic units are "0.005". */
const priceOf = (amount: string) => `${amount.padStart(7, "0").slice(0, -6)}.${amount.padStart(7, "0").slice(-6)}`.replace(/\.?0+$/, "");
// The pattern comes last, so a file cut inside it still parses (as a narrower pattern).
const route = (name: string, pattern: string, amount: string, extra = "") => `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: ${name}, namespace: shop}
spec:
  price: "${priceOf(amount)}"
  amount: "${amount}"
  payTo: "${PAY_TO}"
  network: base-sepolia
  priceModel: perRequest${extra}
  pattern: ${pattern}
`;
const API = route("api", "/api/*", "5000");
const PREMIUM = route("premium", "/api/premium/*", "90000");
const REPORT = route("report", "/reports/*", "700");
const ALL = [API, PREMIUM, REPORT].join("---\n");
const GRACE_MS = 300;

type Entry = { level: string; message: string; fields?: object };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("watchRoutesFile", () => {
  let dir = "";
  let file = "";
  let source: RouteSource | undefined;
  let logs: Entry[] = [];
  let published: RouteSet[] = [];
  const log: Logger = {
    info: (message, fields) => void logs.push({ level: "info", message, fields }),
    warn: (message, fields) => void logs.push({ level: "warn", message, fields }),
    error: (message, fields) => void logs.push({ level: "error", message, fields }),
    child: () => log,
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "x402-routes-file-"));
    file = join(dir, "routes.yaml");
    logs = [];
    published = [];
  });
  afterEach(() => {
    source?.stop();
    source = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const watch = (pollMs = 20) => (source = watchRoutesFile(file, DEFAULT_NETWORKS, log, (set) => void published.push(set), pollMs, { removalGraceMs: GRACE_MS }));
  /** What a request for the path is charged, in atomic units, or "free". */
  const price = (path: string) => source!.current()?.table.lookup(path)?.accepts[0]!.amount.toString() ?? "free";
  const prices = () => ["/api/x", "/api/premium/x", "/reports/q3"].map(price);
  const until = (what: string, check: () => unknown, timeoutMs = 5000) => waitFor(what, () => Promise.resolve(check()), timeoutMs);
  /** Waits for a log entry written after `since` (an index into the log). */
  const logged = (message: string, since: number) => until(`log "${message}"`, () => logs.slice(since).find((e) => e.message === message));
  const started = async (text = ALL) => {
    writeFileSync(file, text);
    watch();
    await until("first load", () => source!.current());
    expect(prices()).toEqual(["5000", "90000", "700"]);
  };
  /** Samples the prices every few milliseconds while `during` runs. */
  const sampled = async (during: () => Promise<void>) => {
    const seen = new Set<string>();
    const sample = () => seen.add(prices().join(" "));
    const timer = setInterval(sample, 3);
    try {
      await during();
    } finally {
      clearInterval(timer);
    }
    sample();
    return [...seen];
  };

  it("is not ready until the file exists, then loads it", async () => {
    watch();
    await logged("routes file unreadable; serving the last table", 0);
    await sleep(60);
    expect(source!.current()).toBeUndefined();
    writeFileSync(file, ALL);
    await until("first load", () => source!.current());
    expect(prices()).toEqual(["5000", "90000", "700"]);
  });

  it("does not load a file with no documents at all: not ready", async () => {
    writeFileSync(file, "# nothing yet\n");
    watch();
    await logged("routes file has no documents; serving the last table", 0);
    expect(source!.current()).toBeUndefined();
  });

  it.each([["empty", ""], ["blank", "  \n\t\n"], ["comments only", "# every route is gone\n---\n# really\n"]])("keeps every price when the file becomes %s", async (_name, text) => {
    await started();
    const since = logs.length;
    writeFileSync(file, text);
    await logged("routes file has no documents; serving the last table", since);
    await sleep(GRACE_MS + 100);
    expect(prices()).toEqual(["5000", "90000", "700"]);
    expect(JSON.stringify(logs.at(-1))).toContain("PaymentRouteList");
  });

  it("keeps the whole last table when any document has a YAML error, and names the document", async () => {
    await started();
    const since = logs.length;
    writeFileSync(file, [route("api", "/api/*", "6000"), "apiVersion: [unclosed\n", REPORT].join("---\n"));
    await logged("routes file invalid; serving the last table", since);
    await sleep(GRACE_MS + 100);
    expect(prices()).toEqual(["5000", "90000", "700"]);
    expect(logs.find((e) => e.message === "routes file invalid; serving the last table")?.fields).toEqual({ file, error: expect.stringMatching(/^document 2: /) });
  });

  it("keeps the whole last table when a document is not a PaymentRoute", async () => {
    await started();
    const since = logs.length;
    writeFileSync(file, [route("api", "/api/*", "6000"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"].join("---\n"));
    await logged("routes file invalid; serving the last table", since);
    await sleep(GRACE_MS + 100);
    expect(prices()).toEqual(["5000", "90000", "700"]);
    expect(logs.at(-1)?.fields).toEqual({ file, error: 'document 2: expected a PaymentRoute, or a PaymentRouteList with items (apiVersion obol.org/v1alpha1), found apiVersion "v1", kind "ConfigMap"' });
  });

  it("keeps serving routes cut off at a document boundary while the rest is written", async () => {
    await started();
    const seen = await sampled(async () => {
      writeFileSync(file, "");
      await sleep(60);
      writeFileSync(file, API);
      await sleep(GRACE_MS / 2);
      writeFileSync(file, ALL.replace('"5000"', '"6000"').replace('"0.005"', '"0.006"'));
      await until("the edit", () => price("/api/x") === "6000");
      await sleep(GRACE_MS + 100);
    });
    expect(seen).not.toContainEqual(expect.stringContaining("free"));
    expect(prices()).toEqual(["6000", "90000", "700"]);
    expect(logs.filter((e) => e.message === "routes removed")).toEqual([]);
  });

  it("removes routes left out of the file only once it has stayed that way for the grace period", async () => {
    await started();
    const since = logs.length;
    const written = performance.now();
    writeFileSync(file, route("api", "/api/*", "6000"));
    await until("the edit", () => price("/api/x") === "6000");
    expect(prices()).toEqual(["6000", "90000", "700"]);
    await logged("routes removed", since);
    expect(performance.now() - written).toBeGreaterThanOrEqual(GRACE_MS);
    expect(prices()).toEqual(["6000", "6000", "free"]);
    expect(logs.at(-1)?.fields).toEqual({ file, removed: ["shop/premium", "shop/report"], routes: 1 });
  });

  it("keeps the last good version of a route with a typo, and applies the others", async () => {
    await started();
    const since = logs.length;
    const typo = PREMIUM.replace('"90000"', '"95000"').replace("base-sepolia", "base-sepolai");
    writeFileSync(file, [route("api", "/api/*", "6000"), typo, REPORT, route("fresh", "/fresh/*", "42", "\n  maxTimeoutSeconds: 0")].join("---\n"));
    await until("the edit", () => price("/api/x") === "6000");
    await sleep(GRACE_MS + 100);
    expect(prices()).toEqual(["6000", "90000", "700"]);
    expect(price("/fresh/x")).toBe("free");
    expect(logs.slice(since).filter((e) => e.level !== "info").map((e) => [e.message, e.fields])).toEqual([
      ["route invalid; serving its last good version", { file, route: "shop/premium", error: 'spec.network: unknown network "base-sepolai"' }],
      ["route not admitted", expect.objectContaining({ key: "shop/fresh", reason: "InvalidSpec", message: expect.stringContaining("spec") })],
    ]);
  });

  it("never serves a file caught half written", async () => {
    writeFileSync(file, ALL);
    watch(150);
    await until("first load", () => source!.current());
    // Cut inside the last line, the premium pattern narrows to one path, and /api/premium/x falls to /api/* at 5000.
    // Each half-written file stays for less than a poll interval, from 60-110 ms after the last poll
    // (the edit was seen then, and `until` checks every 50 ms) to 160-210 ms: it meets the next poll.
    const reports = ["800", "900", "1000", "1100"];
    const seen = await sampled(async () => {
      for (const amount of reports) {
        const next = ALL.replace('"700"', `"${amount}"`).replace('"0.0007"', `"${priceOf(amount)}"`);
        await sleep(60);
        writeFileSync(file, next.slice(0, next.indexOf("/api/premium/*") + "/api/premium".length));
        await sleep(100);
        writeFileSync(file, next);
        await until("the edit", () => price("/reports/q3") === amount);
      }
    });
    expect(seen).toEqual(["5000 90000 700", ...reports.map((amount) => `5000 90000 ${amount}`)]);
    expect(published).toHaveLength(1 + reports.length);
  });

  it("serves no routes when told so with an empty PaymentRouteList, after the grace period", async () => {
    await started();
    const since = logs.length;
    writeFileSync(file, "apiVersion: obol.org/v1alpha1\nkind: PaymentRouteList\nitems: []\n");
    await logged("routes loaded", since);
    expect(prices()).toEqual(["5000", "90000", "700"]);
    await logged("routes removed", since);
    expect(prices()).toEqual(["free", "free", "free"]);
    expect(source!.current()!.table.size).toBe(0);
  });

  it("serves the items of a PaymentRouteList like documents of their own", async () => {
    const items = [API, PREMIUM].map((r) => `  - ${r.trimEnd().replaceAll("\n", "\n    ")}\n`).join("");
    await started(`apiVersion: obol.org/v1alpha1\nkind: PaymentRouteList\nitems:\n${items}---\n${REPORT}`);
  });

  it("keeps the last table while the file is missing, and picks it up again", async () => {
    await started();
    const since = logs.length;
    rmSync(file);
    await logged("routes file unreadable; serving the last table", since);
    await sleep(GRACE_MS + 100);
    expect(prices()).toEqual(["5000", "90000", "700"]);
    expect(logs.slice(since).filter((e) => e.message === "routes file unreadable; serving the last table")).toHaveLength(1);
    writeFileSync(file, route("api", "/api/*", "6000"));
    await until("the file again", () => price("/api/x") === "6000");
  });
});
