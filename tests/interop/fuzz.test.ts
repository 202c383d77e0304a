// Thousands of malformed payment headers against a running verifier: bad base64, bad
// JSON, wrong types, huge numbers, 100 KB values, valid-looking payments with one field
// mangled. No answer may be a 5xx other than the 503 of an unreachable facilitator, the
// process must not crash, and it must still answer correctly afterwards.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { seededRandom } from "../support/seeded-random.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_NETWORKS } from "../../core/networks.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../../verifier/x402/eip3009.ts";
import { freePort } from "../../dev/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../../dev/process.ts";

const CASES = 3000;
const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const FROM = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

/** Payments with real signatures (the verifier refuses forged ones before any facilitator call). */
async function signedPayments(count: number): Promise<string[]> {
  const buyer = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
  const network = DEFAULT_NETWORKS.find((n) => n.name === "base-sepolia")!;
  const now = BigInt(Math.floor(Date.now() / 1000));
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const message = { from: buyer.address, to: PAY_TO as `0x${string}`, value: 1000n, validAfter: now - 60n, validBefore: now + 600n, nonce: `0x${(i + 1).toString(16).padStart(64, "0")}` as `0x${string}` };
    const signature = await buyer.signTypedData({
      domain: { name: network.tokenName, version: network.tokenVersion, chainId: network.chainId, verifyingContract: network.asset },
      types: TRANSFER_WITH_AUTHORIZATION_TYPES, primaryType: "TransferWithAuthorization", message,
    });
    const authorization = { ...message, value: "1000", validAfter: String(message.validAfter), validBefore: String(message.validBefore) };
    return Buffer.from(JSON.stringify({ x402Version: 1, scheme: "exact", network: "base-sepolia", payload: { signature, authorization } })).toString("base64");
  }));
}

function cases(rand: () => number, signed: string[]): { name: string; header: string; value: string }[] {
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]!;
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const now = Math.floor(Date.now() / 1000);
  const good = () => ({
    x402Version: 1, scheme: "exact", network: "base-sepolia",
    payload: { signature: `0x${"ab".repeat(65)}`, authorization: { from: FROM, to: PAY_TO, value: "1000", validAfter: String(now - 60), validBefore: String(now + 300), nonce: `0x${"00".repeat(31)}${Math.floor(rand() * 255).toString(16).padStart(2, "0")}` } },
  });
  const weird = () => pick<unknown>([null, true, 0, -1, 1e309, "", "x".repeat(100_000), [], {}, [1, 2], { a: 1 }, "9".repeat(80), "-5", "0x", NaN, "1.5", "１２３"]);
  const mangle = (value: unknown, depth = 0): unknown => {
    if (value === null || typeof value !== "object" || depth > 3) return rand() < 0.3 ? weird() : value;
    const copy: Record<string, unknown> = Array.isArray(value) ? [...value] as never : { ...value };
    const keys = Object.keys(copy);
    const key = pick(keys);
    if (rand() < 0.2) delete copy[key];
    else copy[key] = rand() < 0.5 ? weird() : mangle(copy[key], depth + 1);
    return copy;
  };
  const kinds: [string, () => string][] = [
    ["random bytes", () => Buffer.from(Array.from({ length: Math.floor(rand() * 600) }, () => Math.floor(rand() * 256))).toString("base64")],
    ["not base64", () => Array.from({ length: 1 + Math.floor(rand() * 300) }, () => String.fromCharCode(33 + Math.floor(rand() * 94))).join("")],
    ["base64 of bad JSON", () => b64(`{"x402Version":1,"payload":${pick(["{", "[", "nul", "\"", "{}}", "1e99999"])}`)],
    ["wrong types", () => b64(JSON.stringify(mangle(good())))],
    ["deeply wrong types", () => b64(JSON.stringify(mangle(mangle(mangle(good())))))],
    ["huge numbers", () => { const p = good(); (p.payload.authorization as Record<string, string>)[pick(["value", "validAfter", "validBefore"])] = "9".repeat(70 + Math.floor(rand() * 20)); return b64(JSON.stringify(p)); }],
    ["100 KB value", () => { const p = good(); p.payload.signature = `0x${"ab".repeat(50_000)}`; return b64(JSON.stringify(p)); }],
    ["v2 in the v1 header", () => b64(JSON.stringify({ x402Version: 2, accepted: {}, payload: good().payload }))],
    ["JSON that is not an object", () => b64(JSON.stringify(weird()))],
    ["plausible payment, forged signature", () => b64(JSON.stringify(good()))],
    ["signed payment", () => signed[Math.floor(rand() * signed.length)]!],
  ];
  return Array.from({ length: CASES }, () => {
    const [name, make] = pick(kinds);
    return { name, header: rand() < 0.8 ? "x-payment" : "payment-signature", value: make() };
  });
}

describe("malformed payment headers", () => {
  let verifier: Running;
  let base = "";
  let dir = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "x402-fuzz-"));
    writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: fuzz, namespace: shop}
spec: {pattern: "/services/fuzz/*", price: "0.001", payTo: "${PAY_TO}", network: base-sepolia}
`);
    const [port, deadRpc] = await Promise.all([freePort(), freePort()]);
    base = `http://127.0.0.1:${port}`;
    // The chain is unreachable on purpose: plausible payments reach the facilitator and get its 503.
    verifier = start("node", "main.ts", ["verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${port}`, "--facilitator", "local", "--rpc", `base-sepolia=http://127.0.0.1:${deadRpc}`, "--verify-only"]);
    await waitFor("verifier ready", () => httpReady(`${base}/readyz`), 30_000, verifier);
  }, 60_000);

  afterAll(async () => {
    await verifier?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`answers ${CASES} of them without a 5xx other than the facilitator's 503, and without crashing`, { timeout: 300_000 }, async () => {
    const all = cases(seededRandom(402), await signedPayments(50));
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < all.length) {
        const c = all[next++]!;
        const response = await fetch(`${base}/verify`, { headers: { "x-forwarded-uri": "/services/fuzz/x", "x-forwarded-proto": "http", "x-forwarded-host": "h", [c.header]: c.value } });
        const body = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        // The chain is down (verification, or the check for a smart-wallet payer, unavailable), or the same payment is in progress.
        const facilitatorDown = response.status === 503 && /verification is unavailable|wallet could not be checked|being processed/.test(body);
        if (response.status >= 500 && !facilitatorDown) failures.push(`${c.name}: ${response.status} ${body.slice(0, 120)}`);
        if (![400, 402, 431, 503].includes(response.status)) failures.push(`${c.name}: unexpected ${response.status}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(failures).toEqual([]);
    expect(verifier.child.exitCode).toBeNull();
    // Every kind of answer was exercised: refusals, payment requests and the facilitator's 503.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 402, 503]));
    expect(await httpReady(`${base}/healthz`)).toBe(true);
    const unpaid = await fetch(`${base}/verify`, { headers: { "x-forwarded-uri": "/services/fuzz/x" } });
    expect(unpaid.status).toBe(402);
    expect((await unpaid.json()).accepts[0].maxAmountRequired).toBe("1000");
  });
});
