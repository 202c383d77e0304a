// Three verifier replicas (two on Node, one on Deno) sharing replay reservations in a real
// redis-server: one authorization sent to all three at once is served once; a replica killed
// while settling leaves the payment to be resolved by another (served once if it landed,
// never asked to pay twice); the store away for 10 s under load gives only 503 + Retry-After
// for payments, takes no money, and service comes back by itself. Without the shared store
// the first scenario serves one authorization up to three times: the test can fail.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, erc20Abi, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createPaymentHeader } from "x402/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, startChain } from "../../dev/chain/chain.ts";
import { type RunningRedis, startRedis } from "../../dev/redis.ts";
import { forwardAuth, type Replica, startFleet, startHoldingRpc } from "./fleet-support.ts";

const URI = "/services/llm/v1/chat";
const PRICE = 1000n;
let chain: Chain;
let redis: RunningRedis;
let rpc: Awaited<ReturnType<typeof startHoldingRpc>>;
let dir = "";
let payTo: `0x${string}`;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  chain = await startChain();
  stops.push(() => chain.stop());
  redis = await startRedis();
  stops.push(() => redis.stop());
  rpc = await startHoldingRpc(chain.rpcUrl);
  stops.push(rpc.close);
  dir = mkdtempSync(join(tmpdir(), "x402-fleet-"));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  payTo = chain.accounts[9]!.address;
  // Exact-price routes only, so each replica may settle from an account of its own
  // (docs/verifier-fleet.md): no race for one account's transaction nonces. The real-cluster
  // fleet (tests/kind/fleet.test.ts) shares one account, as a Deployment's Pods share a Secret.
  for (const [replica, account] of [0, 1, 8].entries()) writeFileSync(join(dir, `settlement-${replica}.key`), chain.accounts[account]!.privateKey);
  writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop}
spec: {pattern: "/services/llm/*", price: "0.001", payTo: "${payTo}", network: base-sepolia}
`);
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

async function fleet(count: number, extra: (replica: number) => string[]): Promise<Replica[]> {
  const replicas = await startFleet(count, (i) => ["--routes", join(dir, "routes.yaml"), "--facilitator", "local", "--rpc", `base-sepolia=${rpc.url}`, ...extra(i)], { deno: true });
  stops.push(async () => Promise.all(replicas.map((r) => r.process.stop())));
  return replicas;
}
const settling = (replica: number) => ["--settlement-key-file", join(dir, `settlement-${replica}.key`), "--answer-timeout", "20"];
const sharedStore = () => ["--replay-store", redis.url];

const balanceOf = (address: `0x${string}`) =>
  createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }).readContract({ address: chain.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });
const buyer = (i: number) => privateKeyToAccount(chain.accounts[i]!.privateKey);
async function requirementFrom(replica: Replica) {
  return (await (await forwardAuth(replica, URI)).json()).accepts[0];
}
/** A fresh payment signed by the official x402 client. */
const pay = async (replica: Replica, buyerIndex: number) => await createPaymentHeader(buyer(buyerIndex), 1, await requirementFrom(replica));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a verifier fleet sharing one replay store", () => {
  it("serves one authorization once when it is sent to three replicas at once, 50 times over (verify-only)", async () => {
    const replicas = await fleet(3, () => ["--verify-only", ...sharedStore()]);
    let served = 0;
    const others = new Map<number, number>();
    for (let round = 0; round < 50; round++) {
      const header = await pay(replicas[round % 3]!, 2 + (round % 5));
      const answers = await Promise.all(replicas.map((replica) => forwardAuth(replica, URI, header)));
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      served += 1;
      for (const answer of answers.filter((a) => a.status !== 200)) {
        others.set(answer.status, (others.get(answer.status) ?? 0) + 1);
        if (answer.status === 503) expect(answer.headers.get("retry-after")).toBeTruthy();
      }
    }
    expect(served).toBe(50);
    // The other 100 were told "being processed" (503) or "already used" (402), nothing else.
    expect([...others.keys()].every((status) => status === 402 || status === 503)).toBe(true);
    // ...and the same authorization again, anywhere in the fleet, is refused.
    const header = await pay(replicas[0]!, 2);
    expect((await forwardAuth(replicas[0]!, URI, header)).status).toBe(200);
    for (const replica of replicas) expect((await forwardAuth(replica, URI, header)).status).toBe(402);
  }, 240_000);

  it("control: without the shared store, the same sending serves one authorization more than once", async () => {
    const replicas = await fleet(3, () => ["--verify-only"]);
    let served = 0;
    for (let round = 0; round < 5; round++) {
      const header = await pay(replicas[0]!, 2);
      served += (await Promise.all(replicas.map((replica) => forwardAuth(replica, URI, header)))).filter((a) => a.status === 200).length;
    }
    expect(served).toBeGreaterThan(5);
  }, 120_000);

  for (const landed of [true, false]) {
    it(`resolves a payment whose replica was killed while settling (broadcast ${landed ? "landed" : "lost"}): served once, charged once`, async () => {
      const replicas = await fleet(3, (i) => [...settling(i), ...sharedStore()]);
      const payer = buyer(7);
      const before = await balanceOf(payer.address);
      const header = await pay(replicas[0]!, 7);
      rpc.state.holdSends = true;
      const sends = rpc.state.sendsSeen;
      const first = forwardAuth(replicas[0]!, URI, header).catch(() => undefined);
      while (rpc.state.sendsSeen === sends) await sleep(20);
      replicas[0]!.process.child.kill("SIGKILL");
      await first;
      rpc.state.holdSends = false;
      rpc.releaseSends(landed);
      // At once, the others know it is being processed: wait, never pay again.
      const early = await forwardAuth(replicas[1]!, URI, header);
      expect(early.status).toBe(503);
      expect(early.headers.get("retry-after")).toBeTruthy();
      expect((await early.json()).error).toContain("do not pay again");
      // Once the dead replica's liveness lapses, a retry on another replica resolves it.
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const retry = await forwardAuth(replicas[1 + (i % 2)]!, URI, header);
        statuses.push(retry.status);
        if (retry.status !== 503) break;
        expect(retry.headers.get("retry-after")).toBeTruthy();
        await sleep(1000);
      }
      expect(statuses.at(-1)).toBe(200);
      expect(statuses.slice(0, -1).every((status) => status === 503)).toBe(true);
      for (const replica of replicas.slice(1)) expect((await forwardAuth(replica, URI, header)).status).toBe(402);
      expect(await balanceOf(payer.address)).toBe(before - PRICE);
    }, 120_000);
  }

  it("one replica, in-process holds: killed after broadcasting, restarted; the buyer's retry is served once from the chain, not asked to pay again", async () => {
    const [first] = await fleet(1, (i) => settling(i));
    const payer = buyer(6);
    const before = await balanceOf(payer.address);
    const header = await pay(first!, 6);
    rpc.state.holdSends = true;
    const sends = rpc.state.sendsSeen;
    const answer = forwardAuth(first!, URI, header).catch(() => undefined);
    while (rpc.state.sendsSeen === sends) await sleep(20);
    first!.process.child.kill("SIGKILL");
    await answer;
    rpc.state.holdSends = false;
    rpc.releaseSends(true);
    for (let i = 0; i < 100 && (await balanceOf(payer.address)) === before; i++) await sleep(50);
    expect(await balanceOf(payer.address)).toBe(before - PRICE);
    // Its holds died with it: the restarted verifier sees a used nonce, asks the chain, and serves.
    const [restarted] = await fleet(1, (i) => settling(i));
    expect((await forwardAuth(restarted!, URI, header)).status).toBe(200);
    expect((await forwardAuth(restarted!, URI, header)).status).toBe(402);
    expect(await balanceOf(payer.address)).toBe(before - PRICE);
  }, 120_000);

  it("answers payments 503 + Retry-After while the store is away for 10 s under load, takes no money for them, and resumes by itself", async () => {
    const replicas = await fleet(3, (i) => [...settling(i), ...sharedStore()]);
    const buyers = [2, 3, 4, 5];
    const before = await Promise.all(buyers.map((i) => balanceOf(buyer(i).address)));
    const payeeBefore = await balanceOf(payTo);
    const served = new Map<number, number>(buyers.map((i) => [i, 0]));
    const seen: { status: number; retryAfter: boolean; paid: boolean; at: number }[] = [];
    let running = true;
    const load = buyers.map(async (buyerIndex, worker) => {
      for (let n = 0; running; n++) {
        const replica = replicas[(worker + n) % 3]!;
        const paid = n % 4 !== 3;
        const header = paid ? await pay(replica, buyerIndex) : undefined;
        let answer = await forwardAuth(replica, URI, header);
        await answer.arrayBuffer();
        seen.push({ status: answer.status, retryAfter: answer.headers.has("retry-after"), paid, at: Date.now() });
        // A careful buyer sends the same payment again after a 503 (it may have been settled as the
        // store went away: "outcome unknown, do not pay again"), on any replica, until it is answered.
        for (let retry = 1; paid && answer.status === 503 && retry < 60; retry++) {
          await sleep(500);
          answer = await forwardAuth(replicas[(worker + n + retry) % 3]!, URI, header);
          await answer.arrayBuffer();
          seen.push({ status: answer.status, retryAfter: answer.headers.has("retry-after"), paid, at: Date.now() });
        }
        if (answer.status === 200) {
          expect(paid).toBe(true);
          served.set(buyerIndex, served.get(buyerIndex)! + 1);
        }
      }
    });
    await sleep(3000);
    const down = Date.now();
    await redis.stop();
    await sleep(3000);
    // What an operator's alert reads: every replica says its store is gone, then back.
    const storeUp = async () => await Promise.all(replicas.map(async (r) => /^x402_verifier_replay_store_up (\d)$/m.exec(await (await fetch(`${r.base}/metrics`)).text())?.[1]));
    expect(await storeUp()).toEqual(["0", "0", "0"]);
    await sleep(7000);
    await redis.restart();
    const up = Date.now();
    await sleep(6000);
    expect(await storeUp()).toEqual(["1", "1", "1"]);
    running = false;
    await Promise.all(load);

    expect(seen.every((s) => s.status === 200 || s.status === 402 || s.status === 503)).toBe(true);
    expect(seen.filter((s) => s.status === 503).every((s) => s.retryAfter)).toBe(true);
    expect(seen.filter((s) => !s.paid).every((s) => s.status === 402)).toBe(true);
    const during = seen.filter((s) => s.paid && s.at > down + 500 && s.at < up);
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((s) => s.status === 503)).toBe(true);
    const after = seen.filter((s) => s.paid && s.at > up + 3000);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((s) => s.status === 200)).toBe(true);
    // The ledgers agree: every buyer paid exactly for what it was served, and the payee got it all.
    const totalServed = [...served.values()].reduce((a, b) => a + b, 0);
    for (const [k, i] of buyers.entries()) expect(await balanceOf(buyer(i).address)).toBe(before[k]! - PRICE * BigInt(served.get(i)!));
    expect(await balanceOf(payTo)).toBe(payeeBefore + PRICE * BigInt(totalServed));
  }, 180_000);
});
