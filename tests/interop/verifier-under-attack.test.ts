// The verifier process under load it must shrug off, as it is shipped (remote facilitator,
// --rpc), with the official facilitator behind a fault injector on a real chain: floods of junk payments, a facilitator that invents a
// new refusal reason every time or answers too slowly, a Secret that would break headers.
// What is checked is what an operator would look at: the facilitator's request count, the
// /metrics series, the time an answer takes, the chain's balances, and that the process lives.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, erc20Abi, http } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createPaymentHeader } from "x402/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, startChain } from "../../dev/chain/chain.ts";
import { freePort } from "../../dev/free-port.ts";
import { httpReady, type Running, start, waitFor } from "../../dev/process.ts";
import { startFaultyFacilitator } from "./faulty-facilitator.ts";
import { startOfficialFacilitator } from "./paid-service.ts";

const BUDGET_SECONDS = 6;
const SLOTS = 8;
let chain: Chain;
let faulty: Awaited<ReturnType<typeof startFaultyFacilitator>>;
let verifier: Running;
let base = "";
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  chain = await startChain();
  stops.push(() => chain.stop());
  const dir = mkdtempSync(join(tmpdir(), "x402-attack-"));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  const official = await startOfficialFacilitator(chain, dir);
  stops.push(official.stop);
  faulty = await startFaultyFacilitator(official.url);
  stops.push(faulty.close);
  mkdirSync(join(dir, "secrets", "broken"), { recursive: true });
  writeFileSync(join(dir, "secrets", "broken", "token"), "sk-broken-1\nX-Injected: 1");
  const route = (name: string, extra = "") => `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: ${name}, namespace: shop}
spec: {pattern: "/services/${name}/*", price: "0.001", payTo: "${chain.accounts[9]!.address}", network: base-sepolia${extra}}
`;
  writeFileSync(join(dir, "routes.yaml"), [route("llm"), route("broken", ", upstreamAuth: {secretKeyRef: {name: broken, key: token}, scheme: Bearer}")].join("---\n"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  verifier = start("node", "main.ts", [
    "verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${port}`, "--facilitator", faulty.url, "--secrets-dir", join(dir, "secrets"),
    "--answer-timeout", String(BUDGET_SECONDS), "--max-concurrent-payments", String(SLOTS), "--rpc", `base-sepolia=${chain.rpcUrl}`,
  ]);
  stops.push(() => verifier.stop());
  await waitFor("verifier ready", () => httpReady(`${base}/readyz`), 30_000, verifier);
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

const balanceOf = (address: `0x${string}`) =>
  createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }).readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });
const requirement = async (service = "llm") =>
  (await (await fetch(`${base}/verify`, { headers: { "x-forwarded-uri": `/services/${service}/x`, "x-forwarded-host": "shop.example" } })).json()).accepts[0];
const verify = (header: string, service = "llm") => fetch(`${base}/verify`, { headers: { "x-forwarded-uri": `/services/${service}/x`, "x-forwarded-host": "shop.example", "x-payment": header } });

/** Runs `count` requests, `concurrency` at a time, and tallies the statuses. */
async function flood(count: number, concurrency: number, send: (i: number, worker: number) => Promise<Response>): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    while (next < count) {
      const response = await send(next++, worker);
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
  }));
  return statuses;
}

describe("the verifier under attack", () => {
  it("answers 3000 payments with forged signatures without one facilitator call (the chain is asked once whether the payer is a contract)", async () => {
    const forger = privateKeyToAccount(generatePrivateKey());
    const victim = chain.accounts[2]!.address;
    const req = await requirement();
    const forged = await Promise.all(Array.from({ length: 50 }, async () => {
      const header = JSON.parse(Buffer.from(await createPaymentHeader(forger, 1, req), "base64").toString());
      header.payload.authorization.from = victim; // signed by someone else
      return Buffer.from(JSON.stringify(header)).toString("base64");
    }));
    const calls = faulty.state.calls;
    const statuses = await flood(3000, 200, (i) => verify(forged[i % forged.length]!));
    expect([...statuses]).toEqual([[402, 3000]]);
    expect(faulty.state.calls).toBe(calls);
    expect(verifier.child.exitCode).toBeNull();
  });

  it(`holds at most ${SLOTS} facilitator calls open for 600 validly signed junk payments from an unfunded wallet`, async () => {
    const req = await requirement();
    const broke = privateKeyToAccount(generatePrivateKey());
    const junk = await Promise.all(Array.from({ length: 600 }, () => createPaymentHeader(broke, 1, req)));
    faulty.state.maxInFlight = 0;
    const statuses = await flood(junk.length, 200, (i) => verify(junk[i]!));
    expect(faulty.state.maxInFlight).toBeLessThanOrEqual(SLOTS);
    expect([...statuses.keys()].every((s) => s === 402 || s === 503)).toBe(true);
    expect(statuses.get(402)).toBeGreaterThan(0);
    console.log(`600 junk payments: ${JSON.stringify(Object.fromEntries(statuses))}, at most ${faulty.state.maxInFlight} facilitator calls at once`);
  });

  it("counts 5,000 refusals with 5,000 different facilitator reasons in one series", async () => {
    // A refused payment is released, so each worker sends its own one again and again.
    const req = await requirement();
    const headers = await Promise.all(Array.from({ length: 50 }, () => createPaymentHeader(privateKeyToAccount(chain.accounts[3]!.privateKey), 1, req)));
    faulty.state.verifyMode = "random-reason";
    try {
      const statuses = await flood(5000, 50, (_, worker) => verify(headers[worker]!));
      expect([...statuses]).toEqual([[402, 5000]]);
    } finally {
      faulty.state.verifyMode = "pass";
    }
    const series = (await (await fetch(`${base}/metrics`)).text()).split("\n").filter((l) => l.startsWith("x402_verifier_payments_refused_total{"));
    expect(series.filter((l) => l.includes('route="/services/llm/*"') && l.includes('reason="other"'))).toHaveLength(1);
    expect(series.length).toBeLessThan(10);
  });

  it(`answers within one ${BUDGET_SECONDS} s budget: a slow verification is cut at half of it, a slow settlement at all of it, and the buyer is charged once`, async () => {
    const buyer = privateKeyToAccount(chain.accounts[4]!.privateKey);
    const before = await balanceOf(buyer.address);
    faulty.state.delayMs = 20_000;
    faulty.state.verifyMode = "slow";
    let started = performance.now();
    const cut = await verify(await createPaymentHeader(buyer, 1, await requirement()));
    const verifyMs = performance.now() - started;
    faulty.state.verifyMode = "pass";
    expect(cut.status).toBe(503);
    expect(verifyMs).toBeLessThan(BUDGET_SECONDS * 500 + 1000);

    const header = await createPaymentHeader(buyer, 1, await requirement());
    faulty.state.mode = "slow";
    started = performance.now();
    const late = await verify(header);
    const settleMs = performance.now() - started;
    faulty.state.mode = "pass";
    expect(late.status).toBe(503);
    expect((await late.json()).error).toContain("do not pay again");
    expect(settleMs).toBeLessThan(BUDGET_SECONDS * 1000 + 1000);
    expect((await verify(header)).status).toBe(200);
    expect(await balanceOf(buyer.address)).toBe(before - 1000n);
    console.log(`slow verification answered in ${Math.round(verifyMs)} ms, slow settlement in ${Math.round(settleMs)} ms (budget ${BUDGET_SECONDS} s)`);
  }, 60_000);

  it("takes no payment for a route whose Secret would break the header, names the Secret and not its value, and lives on", async () => {
    const calls = faulty.state.calls;
    const response = await verify(await createPaymentHeader(privateKeyToAccount(chain.accounts[5]!.privateKey), 1, await requirement("broken")), "broken");
    expect(response.status).toBe(503);
    expect((await response.json()).error).toContain("credentials are unavailable");
    expect(faulty.state.calls).toBe(calls);
    expect(verifier.output()).toContain("Secret shop/broken");
    expect(verifier.output()).not.toContain("sk-broken-1");
    expect(verifier.child.exitCode).toBeNull();
    expect(verifier.output()).not.toContain("unhandled rejection");
  });
});
