// The verifier as a fleet on the real-cluster stack: three replicas (Node, Node, Deno) sharing
// a real redis-server, behind real Traefik, which balances over the verifier Service's
// endpoints itself. One authorization sent three times at once is served once; then a soak:
// official v1 and v2 clients and a metered streaming client pay continuously, with unpaid
// traffic mixed in, while the harness restarts the API server, kills the controller, kills a
// verifier replica and restarts the store on a schedule; at the end the buyers' records, the
// chain and the verifiers' metrics are reconciled. X402_SOAK_SECONDS sets the soak's length
// (600 by default; `npm run soak -- --long` runs an hour).
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { UptoEvmScheme } from "@x402/evm/upto/client";
import { wrapFetchWithPayment as wrapV2, x402Client } from "@x402/fetch";
import { createWalletClient, erc20Abi, http, maxUint256, parseEventLogs, publicActions } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createPaymentHeader } from "x402/client";
import { wrapFetchWithPayment as wrapV1 } from "x402-fetch";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import type { DiscoveryResourcesResponse } from "@x402/extensions";
import { sameAddress } from "../../core/pay-to.ts";
import { apply, readManifests } from "../../dev/apply.ts";
import { PERMIT2_ADDRESS } from "../../dev/chain/chain.ts";
import { applyOffer, offerPath, usdcBalance, viaGateway, waitReady } from "../../dev/cluster-helpers.ts";
import { PROJECT_ROOT, waitFor } from "../../dev/process.ts";
import { type RunningRedis, startRedis } from "../../dev/redis.ts";
import { type Component, type Stack, startStack, UPSTREAM } from "../../dev/stack.ts";
import type { VerifierFleet } from "../../dev/verifier-fleet.ts";
import { counterSum, type Outcome, receiptOf, summarize } from "./fleet-ledger.ts";

const SOAK_SECONDS = Number(process.env.X402_SOAK_SECONDS ?? 600);
/**
 * After a replica is killed: Traefik's 502s for what was in flight on it, or sent on a pooled
 * connection to it, until Traefik has seen its endpoint leave the Service (seconds, on 2 busy cores).
 */
const KILL_WINDOW_MS = 8000;
let stack: Stack;
let redis: RunningRedis;
let fleet: VerifierFleet;
let controller: Component;

const offer = (extra: object = {}) => ({
  type: "inference",
  model: { name: "qwen3:0.6b", runtime: "ollama" },
  upstream: { service: UPSTREAM.service, namespace: UPSTREAM.namespace, port: UPSTREAM.port },
  payment: { network: "base-sepolia", payTo: stack.payTo, price: { perRequest: "0.001" } },
  upstreamAuth: { secretKeyRef: { name: UPSTREAM.secret, key: UPSTREAM.secretKey }, scheme: "Bearer" },
  ...extra,
});
/** The error an answer carries (x402's "error", or the start of the body), without the parts that differ each time. */
const errorOf = (body: string) => {
  let error: string;
  try {
    error = String(JSON.parse(body).error ?? body);
  } catch {
    error = body;
  }
  return error.slice(0, 100).replace(/0x[0-9a-f]+/gi, "0x…").replace(/\d{3,}/g, "N");
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const metricsOf = async (i: number) => {
  const replica = fleet.replicas[i]!;
  return await (await fetch(`http://${replica.address}:${replica.authPort}/metrics`)).text();
};

beforeAll(async () => {
  stack = await startStack({ fleet: true });
  redis = await startRedis();
  fleet = await stack.startVerifierFleet(["node", "node", "deno"], redis.url);
  controller = await stack.startController("node", "controller-a");
  await applyOffer(stack.admin, "llm", "fleet", offer());
  await applyOffer(stack.admin, "llm", "stream", offer({
    dataPath: true,
    payment: { network: "base-sepolia", payTo: stack.payTo, price: { perMTok: "1.25" }, upto: { maxTokens: 4096 } },
  }));
  await waitReady(stack.admin, "llm", "fleet", 10_000);
  await waitReady(stack.admin, "llm", "stream", 10_000);
  for (const path of ["/services/fleet/x", "/services/stream/x"]) await waitFor(`${path} served by Traefik`, async () => (await viaGateway(stack, path)).status === 402, 15_000);
}, 900_000);

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

afterEach((context) => {
  if (context.task.result?.state !== "fail") return;
  for (const r of fleet?.replicas ?? []) console.log(`--- ${r.name} (last lines)\n${r.process.output().split("\n").slice(-15).join("\n")}`);
});

describe("a verifier fleet behind Traefik", () => {
  it("serves one authorization once when it is sent three times at once through Traefik, 50 times over, and Traefik spreads the requests over every replica", async () => {
    const before = await Promise.all(fleet.replicas.map((_, i) => metricsOf(i).then((m) => counterSum(m, "x402_verifier_requests_total", ""))));
    const buyer = privateKeyToAccount(stack.chain.accounts[2]!.privateKey);
    const requirement = (await viaGateway(stack, "/services/fleet/v1/chat/completions")).json().accepts[0];
    const balance = await usdcBalance(stack, buyer.address);
    for (let round = 0; round < 50; round++) {
      const header = await createPaymentHeader(buyer, 1, requirement);
      const answers = await Promise.all([0, 1, 2].map(() => viaGateway(stack, "/services/fleet/v1/chat/completions", { "x-payment": header })));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers.filter((a) => a.status !== 200)) {
        expect([402, 503]).toContain(a.status);
        if (a.status === 503) expect(a.headers.get("retry-after")).toBeTruthy();
      }
    }
    expect(await usdcBalance(stack, buyer.address)).toBe(balance - 50n * 1000n);
    const after = await Promise.all(fleet.replicas.map((_, i) => metricsOf(i).then((m) => counterSum(m, "x402_verifier_requests_total", ""))));
    for (const [i, count] of after.entries()) expect(count).toBeGreaterThan(before[i]! + 10);
  }, 300_000);

  it("x402 discovery: /.well-known/x402 through Traefik lists exactly the Ready offers, each with the accepts its own 402 carries", async () => {
    await apply(stack.admin, readManifests(path.join(PROJECT_ROOT, "manifests", "verifier", "well-known-route.yaml")));
    await waitFor("/.well-known/x402 served by Traefik", async () => (await viaGateway(stack, "/.well-known/x402")).status === 200, 15_000);
    const doc: DiscoveryResourcesResponse = (await viaGateway(stack, "/.well-known/x402")).json();
    const base = stack.traefik.url;
    expect(doc.items.map((item) => item.resource)).toEqual([`${base}/services/fleet/`, `${base}/services/stream/`]);
    for (const item of doc.items) {
      const required = await viaGateway(stack, new URL(item.resource).pathname + "x");
      expect(required.status).toBe(402);
      const accepts = JSON.parse(Buffer.from(required.headers.get("payment-required")!, "base64").toString()).accepts;
      // The metered offer's 402 adds an upto accept made for that very request; the listed ones are all there.
      for (const listed of item.accepts) expect(accepts).toContainEqual(listed);
    }
    // An offer that is published but not Ready (its upstream has no ready endpoint) is not listed.
    await apply(stack.admin, [{ apiVersion: "v1", kind: "Service", metadata: { name: "idle", namespace: UPSTREAM.namespace }, spec: { ports: [{ name: "http", port: 80 }] } }]);
    await applyOffer(stack.admin, "llm", "idle", offer({ upstream: { service: "idle", namespace: UPSTREAM.namespace, port: 80 } }));
    await waitFor("the idle offer's PaymentRoute published", async () => (await viaGateway(stack, "/services/idle/x")).status === 503, 15_000);
    const listed = (await viaGateway(stack, "/.well-known/x402")).json() as DiscoveryResourcesResponse;
    expect(listed.items.map((item) => new URL(item.resource).pathname)).toEqual(["/services/fleet/", "/services/stream/"]);
    await stack.admin.request("DELETE", offerPath("llm", "idle"));
  });

  it(`soak (${SOAK_SECONDS} s): paying and unpaid buyers through faults; the buyers' records, the chain and the metrics agree`, async () => {
    const outcomes: Outcome[] = [];
    const buyers = { v1: 3, v2: 4, metered: 5 } as const;
    const account = (i: number) => privateKeyToAccount(stack.chain.accounts[i]!.privateKey);
    const meteredBuyer = account(buyers.metered);
    const wallet = createWalletClient({ account: meteredBuyer, chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) }).extend(publicActions);
    await wallet.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: stack.chain.token, abi: erc20Abi, functionName: "approve", args: [PERMIT2_ADDRESS, maxUint256] }) });
    const addresses = Object.values(buyers).map((i) => account(i).address);
    const balancesBefore = await Promise.all(addresses.map((a) => usdcBalance(stack, a)));
    const payeeBefore = await usdcBalance(stack, stack.payTo);

    // The verifiers' revenue, counter resets (a restarted replica) included.
    // The verifiers' revenue since the soak began: each replica's counter, read before it is
    // killed (its count starts again from zero when it is back) and at the end.
    const revenueOf = async (i: number) => counterSum(await metricsOf(i), "x402_verifier_revenue_atomic_total", 'offer_namespace="llm"');
    const revenueSeen = await Promise.all(fleet.replicas.map((_, i) => revenueOf(i)));
    let revenue = 0;
    const scrape = async (i: number) => {
      const value = await revenueOf(i);
      revenue += value - revenueSeen[i]!;
      revenueSeen[i] = value;
    };
    /** When each replica was killed: the only moments Traefik may answer 502 (for requests in flight on it). */
    const kills: number[] = [];

    let running = true;
    const url = (path: string) => `${stack.traefik.url}${path}`;
    /** One paying request: the official client pays; a 503 is retried with the same payment until it is answered otherwise. */
    async function payOnce(worker: string, pay: (capture: typeof fetch) => Promise<Response>, header: string) {
      let sent: { url: string; init: RequestInit } | undefined;
      const capture: typeof fetch = async (input, init) => {
        const request = new Request(input, init);
        if (request.headers.has(header)) {
          const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.clone().text();
          sent = { url: request.url, init: { method: request.method, headers: [...request.headers], body } };
        }
        return fetch(request);
      };
      const outcome: Outcome = { worker, paid: true, statuses: [], retryAfterOk: true, at: Date.now() };
      let response = await pay(capture).catch(() => undefined);
      for (let attempt = 0; ; attempt++) {
        // A stream broken off (its replica killed) counts as no answer: retried with the same payment.
        const body = response ? await response.text().catch(() => undefined) : undefined;
        const status = body === undefined ? 0 : response!.status;
        outcome.statuses.push(status);
        if (status === 503 && !response!.headers.has("retry-after")) outcome.retryAfterOk = false;
        if (status >= 500 && status !== 503) outcome.gatewayErrorsAt = [...outcome.gatewayErrorsAt ?? [], Date.now()];
        if (status !== 200 && body) outcome.said = errorOf(body);
        if (status === 200) {
          const receipt = receiptOf(response!.headers, body);
          outcome.transaction = receipt?.transaction;
          // No receipt: nothing was charged for it (the ledger below checks that against the chain).
          outcome.charged = !receipt ? 0n : receipt.amount !== undefined ? BigInt(receipt.amount) : 1000n;
        }
        // A request whose payment was never sent (402 before paying) is not paid at all.
        if (!sent) outcome.paid = false;
        // 503, a gateway's 5xx or a lost connection: the payment may be in doubt, so the same one is sent again.
        if (status < 500 && status !== 0 || !sent || attempt >= 60 || !running && attempt >= 30) break;
        await sleep(1000);
        response = await fetch(sent.url, sent.init).catch(() => undefined);
      }
      outcomes.push(outcome);
    }

    const v1Buyer = account(buyers.v1);
    const v2Client = new x402Client();
    registerExactEvmScheme(v2Client, { signer: account(buyers.v2) });
    const meteredClient = new x402Client();
    meteredClient.register("eip155:84532", new UptoEvmScheme(meteredBuyer));
    const workers = [
      (async () => { while (running) await payOnce("v1", (f) => wrapV1(f, v1Buyer, 1_000_000n)(url("/services/fleet/v1/chat/completions")), "x-payment"); })(),
      (async () => { while (running) await payOnce("v2", (f) => wrapV2(f, v2Client)(url("/services/fleet/v1/embeddings")), "payment-signature"); })(),
      (async () => {
        while (running) {
          await payOnce("metered", (f) => wrapV2(f, meteredClient)(url("/services/stream/v1/chat/completions"), {
            method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", max_tokens: 200, stream: true, completion: 50 }),
          }), "payment-signature");
        }
      })(),
      (async () => {
        while (running) {
          const response = await fetch(url("/services/fleet/v1/models")).catch(() => undefined);
          const status = response?.status ?? 0;
          const body = await response?.text().catch(() => undefined);
          const said = status === 402 || !body ? undefined : errorOf(body);
          const at = Date.now();
          outcomes.push({ worker: "unpaid", paid: false, statuses: [status], retryAfterOk: status !== 503 || response!.headers.has("retry-after"), at, said, gatewayErrorsAt: status >= 500 && status !== 503 ? [at] : undefined });
          await sleep(200);
        }
      })(),
    ];

    // The faults, in turn, evenly over the soak.
    const faults: [string, () => Promise<void>][] = [
      ["store restarted (down 10 s)", async () => {
        await redis.stop();
        await sleep(10_000);
        await redis.restart();
      }],
      ["a verifier replica killed (back after 5 s)", async () => {
        const i = faultsDone.filter((f) => f.startsWith("a verifier")).length % fleet.replicas.length;
        await scrape(i);
        kills.push(Date.now());
        await fleet.kill(i);
        revenueSeen[i] = 0;
        await sleep(5000);
        await fleet.restart(i);
      }],
      ["API server restarted (down 5 s)", async () => {
        await stack.controlPlane.stopApiServer();
        await sleep(5000);
        await stack.controlPlane.startApiServer();
      }],
      ["controller killed (back after 3 s)", async () => {
        controller.process.child.kill("SIGKILL");
        await controller.process.exited;
        await sleep(3000);
        controller = await stack.startController("node", "controller-a");
      }],
    ];
    const faultsDone: string[] = [];
    const started = Date.now();
    const gap = (SOAK_SECONDS * 1000) / (Math.max(4, Math.floor(SOAK_SECONDS / 75)) + 1);
    for (let k = 0; Date.now() - started + gap < SOAK_SECONDS * 1000; k++) {
      await sleep(Math.max(0, started + gap * (k + 1) - Date.now()));
      const [name, run] = faults[k % faults.length]!;
      await run();
      faultsDone.push(name);
    }
    await sleep(Math.max(0, started + SOAK_SECONDS * 1000 - Date.now()));
    running = false;
    await Promise.all(workers);
    for (const i of fleet.replicas.keys()) await scrape(i);

    const summary = summarize(outcomes);
    const balancesAfter = await Promise.all(addresses.map((a) => usdcBalance(stack, a)));
    const paidByBuyers = balancesBefore.reduce((sum, before, i) => sum + before - balancesAfter[i]!, 0n);
    const payeeGot = (await usdcBalance(stack, stack.payTo)) - payeeBefore;
    const receipts = outcomes.filter((o) => o.transaction);
    // Read 50 at a time, a failed read tried again: tens of thousands at once would swamp the chain's RPC.
    // What each receipt's transaction moved from these buyers to the payee, by the token's Transfer logs.
    const movedOnChain: (bigint | undefined)[] = [];
    const moved = async (hash: `0x${string}`) => {
      for (let attempt = 0; ; attempt++) {
        try {
          const receipt = await wallet.getTransactionReceipt({ hash });
          if (receipt.status !== "success") return undefined;
          const transfers = parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: receipt.logs }).filter((l) =>
            sameAddress(l.address, stack.chain.token) && addresses.some((a) => sameAddress(a, l.args.from)) && sameAddress(l.args.to, stack.payTo)
          );
          return transfers.reduce((sum, l) => sum + l.args.value, 0n);
        } catch (error) {
          if (attempt >= 3) throw error;
          await sleep(200);
        }
      }
    };
    for (let i = 0; i < receipts.length; i += 50) movedOnChain.push(...await Promise.all(receipts.slice(i, i + 50).map((o) => moved(o.transaction as `0x${string}`))));
    const settledOnChain = movedOnChain.map((m) => m !== undefined);
    /** Receipts that say another amount than their transaction moved: shown whole, with the replicas' logs of that moment. */
    const misstated = receipts.flatMap((o, i) => movedOnChain[i] === o.charged ? [] : [{ ...o, charged: String(o.charged), movedOnChain: String(movedOnChain[i]) }]);
    if (misstated.length > 0) {
      const around = (at: number) => fleet.replicas.flatMap((r) => r.process.output().split("\n").filter((l) => /"level":"(error|warn)"/.test(l) && Math.abs(Date.parse(/"time":"([^"]+)"/.exec(l)?.[1] ?? "") - at) < 30_000));
      console.log(`receipts that misstate their charge: ${JSON.stringify(misstated.slice(0, 5), null, 2)}\n${around(misstated[0]!.at).slice(-20).join("\n")}`);
    }
    const gatewayErrors = outcomes.flatMap((o) => o.gatewayErrorsAt ?? []);
    const outsideKills = gatewayErrors.filter((at) => !kills.some((k) => at >= k && at <= k + KILL_WINDOW_MS));
    console.log(JSON.stringify({
      ledger: { ...summary, chargedByReceipts: String(summary.chargedByReceipts) }, chain: { paidByBuyers: String(paidByBuyers), payeeGot: String(payeeGot) },
      metrics: { revenueAtomic: revenue }, faults: faultsDone, replicasKilled: fleet.replicas.map((r) => r.killed),
      gatewayErrors: { inKillWindows: gatewayErrors.length - outsideKills.length, elsewhere: outsideKills.length, msAfterKill: gatewayErrors.map((at) => Math.min(...kills.map((k) => (at >= k ? at - k : Infinity)))) },
    }, null, 2));

    // Every fault happened, and every paying worker was served often.
    expect(faultsDone.length).toBeGreaterThanOrEqual(4);
    for (const worker of ["v1", "v2", "metered"]) expect(outcomes.filter((o) => o.worker === worker && o.statuses.at(-1) === 200).length).toBeGreaterThan(10);
    // No priced request served without a settlement: every 200 has a receipt naming a transaction
    // that succeeded on chain. The one exception is by design: a metered stream is delivered before
    // it can be charged, and a settlement that then fails costs the seller, never the buyer (the
    // ledger below: such a stream was charged nothing). Those are counted and shown.
    const unsettled = outcomes.filter((o) => o.paid && o.statuses.at(-1) === 200 && !o.transaction);
    expect(unsettled.filter((o) => o.worker !== "metered")).toEqual([]);
    if (unsettled.length > 0) {
      const lines = fleet.replicas.flatMap((r) => r.process.output().split("\n").filter((l) => /settle|delivered/i.test(l) && /"level":"(error|warn)"/.test(l)));
      console.log(`metered streams delivered but not settled: ${unsettled.length}\n${lines.slice(-20).join("\n")}`);
    }
    expect(unsettled.length).toBeLessThan(outcomes.filter((o) => o.worker === "metered").length / 100);
    expect(settledOnChain.every(Boolean)).toBe(true);
    // Unpaid requests were never served.
    expect(outcomes.filter((o) => !o.paid && o.statuses.at(-1) === 200)).toEqual([]);
    // Every settled payment was served exactly once, and no buyer paid twice: what the buyers paid
    // is what their receipts say they were charged, and the payee got exactly that.
    expect(misstated).toEqual([]);
    expect(paidByBuyers).toBe(summary.chargedByReceipts);
    expect(payeeGot).toBe(paidByBuyers);
    expect(new Set(receipts.map((o) => o.transaction)).size).toBe(receipts.length);
    // Every 5xx the verifiers answered was a 503 with Retry-After. A replica SIGKILLed takes the
    // requests in flight on it down with it, which Traefik answers 502 (it retries only what it
    // could not send): those come only right after a kill, and the buyer's retry of the same
    // payment was answered like any other (the ledgers above include them).
    expect(summary.fiveHundredsWithoutRetryAfter).toBe(0);
    expect(outsideKills).toEqual([]);
    // The verifiers' metrics, summed over replicas, say what the chain says.
    expect(revenue).toBe(Number(payeeGot));
    // No process exited but those the harness killed.
    for (const r of fleet.replicas) expect(r.process.child.exitCode === null && r.process.child.signalCode === null).toBe(true);
    expect(controller.process.child.exitCode).toBe(null);
    expect(stack.traefik.process.child.exitCode).toBe(null);
    expect(redis.pid()).toBeTruthy();
  }, (SOAK_SECONDS + 300) * 1000);
});
