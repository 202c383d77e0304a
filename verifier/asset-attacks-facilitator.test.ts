// Attacks from a broken facilitator or chain on Permit2 payments: a remote facilitator's answers,
// a retry after an unknown settlement (never 402 while the first transfer may land), and the
// settlement resolver fed a lying RPC.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { encodeFunctionData, type PublicClient } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadlineAfter } from "../adapters/deadline.ts";
import { EXACT_PERMIT2_PROXY_ADDRESS, PERMIT2_ADDRESS } from "../core/permit2.ts";
import { forwardAuth } from "./forward-auth.ts";
import { memoryReplayGuard } from "./replay-guard.ts";
import type { PaymentContext } from "./x402/facilitator.ts";
import { remoteFacilitator } from "./x402/facilitator-remote.ts";
import { decodePaymentHeader } from "./x402/payment-header.ts";
import { EXACT_PROXY_ABI, type Permit2Payment, proxySettleArgs } from "./x402/permit2.ts";
import { resolvePermit2OnChain } from "./x402/permit2-resolver.ts";
import { OBOL, OBOL_ASSET, PAY_TO, paidRequestV2, pricedRoute, signedPermit2Payment, VALID, verifierDeps } from "./test-support.ts";
import { decode, encode, EURC, only, OTHER_PAYEE, recording, shop, TKN, UPTO_PROXY, USDC } from "./asset-attacks-support.ts";

describe("a remote facilitator answering for a Permit2 payment", () => {
  type Reply = { status: number; body?: unknown };
  let answer: (path: string) => Reply;
  const received: { path: string; body: Record<string, any> }[] = [];
  let server: http.Server;
  let url = "";
  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      let text = "";
      for await (const chunk of req) text += chunk;
      received.push({ path: req.url ?? "", body: JSON.parse(text) });
      const { status, body } = answer(req.url ?? "");
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

  async function context(extraInBuyerJson = false): Promise<PaymentContext> {
    const r = only(shop(), 1);
    const body = decode(await signedPermit2Payment(r, { nonce: "9000" }));
    if (extraInBuyerJson) body.accepted = { ...body.accepted };
    const decoded = decodePaymentHeader(encode(body), 2);
    if (!decoded.ok) throw new Error(decoded.reason);
    return { payment: decoded.payment, route: r, accept: r.accepts[0]!, resource: "https://api.example.com/services/llm/x", deadline: deadlineAfter(2000), signedByPayer: true };
  }

  it("is sent the permit rebuilt from the checked fields, with our own requirement as accepted", async () => {
    answer = () => ({ status: 200, body: { isValid: true } });
    const ctx = await context();
    await remoteFacilitator({ url }).verify(ctx);
    const sent = received.at(-1)!.body;
    expect(sent.paymentPayload.accepted).toEqual(ctx.accept.v2Requirement);
    expect(sent.paymentRequirements).toEqual(ctx.accept.v2Requirement);
    expect(Object.keys(sent.paymentPayload.payload.permit2Authorization).sort()).toEqual(["deadline", "from", "nonce", "permitted", "spender", "witness"]);
    expect(sent.paymentPayload.payload.permit2Authorization.permitted).toEqual({ token: OBOL, amount: String(ctx.accept.amount) });
  });

  it.each([
    ["a used Permit2 nonce on a retry", { success: false, errorReason: "permit2_invalid_nonce" }, true, "unknown"],
    ["a reverted transaction", { success: false, errorReason: "transaction_failed: execution reverted" }, false, "unknown"],
    ["success with a non-200 status", { success: true, transaction: `0x${"ab".repeat(32)}` }, false, "unknown"],
    ["a reason it invented", { success: false, errorReason: "permit2_totally_fine" }, false, "unknown"],
  ])("keeps the outcome unknown (503, hold kept) for %s", async (_, body, retry, kind) => {
    answer = () => ({ status: kind === "unknown" && (body as { success: boolean }).success ? 500 : 400, body });
    const outcome = await remoteFacilitator({ url }).settle({ ...(await context()), retry });
    expect(outcome.kind).toBe(kind);
  });

  it("never resolves a Permit2 payment as settled or refused from a verify that says its nonce is spent", async () => {
    answer = (path) => path === "/verify" ? { status: 200, body: { isValid: false, invalidReason: "permit2_simulation_failed" } } : { status: 200, body: { success: false, errorReason: "permit2_invalid_nonce" } };
    expect((await remoteFacilitator({ url }).resolve(await context())).kind).toBe("unknown");
  });
});

describe("a retry after an unknown Permit2 settlement", () => {
  // With a remote facilitator and an RPC (choose-facilitator.ts), the chain resolves the unknown
  // outcome and the remote facilitator verifies and settles the retry. The official facilitator
  // reads no Permit2 nonce bitmap at verify: a spent nonce shows only as a failed simulation,
  // diagnosed as permit2_simulation_failed, or as a balance or allowance our own landing just
  // used up. After an unknown outcome none of these prove that nothing moved.
  it.each(["permit2_simulation_failed", "permit2_allowance_required", "permit2_insufficient_balance"])(
    "answers 503, not 402, when the retry's verification fails with %s (our first transfer may have just landed)",
    async (reason) => {
      const r = only(shop(), 1);
      let verifications = 0;
      const { facilitator, calls } = recording(
        () => (verifications++ === 0 ? VALID : { kind: "invalid", reason, message: "simulation reverted" }),
        { kind: "unknown", message: "no receipt" },
        { kind: "not-settled" },
      );
      const deps = verifierDeps(facilitator, {}, r);
      const header = await signedPermit2Payment(r, { nonce: "6000" });
      expect((await forwardAuth(paidRequestV2(header), deps)).answer.status).toBe(503);
      const retry = await forwardAuth(paidRequestV2(header), deps);
      expect(calls.resolve).toBe(1);
      expect(retry.answer.status).toBe(503);
    },
  );

  it("answers 503, not 402, when the offer drops the token the held payment was made in before the buyer retries", async () => {
    const withObol = shop();
    const guard = memoryReplayGuard();
    const { facilitator } = recording(VALID, { kind: "unknown", message: "no receipt" }, { kind: "unknown", message: "cannot tell yet" });
    const header = await signedPermit2Payment(only(withObol, 1), { nonce: "6100" });
    expect((await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, withObol))).answer.status).toBe(503);
    // The seller removes OBOL from the offer's payments; the same PaymentRoute now takes USDC, EURC and TKN.
    const withoutObol = pricedRoute({
      alternatives: [
        { network: "base-sepolia", price: "0.002", payTo: OTHER_PAYEE, asset: EURC },
        { network: "base-sepolia", price: "0.5", payTo: PAY_TO, asset: TKN },
      ],
    });
    expect(withoutObol.key).toBe(withObol.key);
    const retry = await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, withoutObol));
    // The OBOL transfer may have landed: a 402 here invites the buyer to pay again in another token.
    expect(retry.answer.status).toBe(503);
  });

  it("resumes a held payment after a price change of its own accept, and serves it once when it landed", async () => {
    const before = only(shop(), 1);
    const guard = memoryReplayGuard();
    let landed = false;
    const { facilitator, calls } = recording(VALID, { kind: "unknown", message: "no receipt" }, () => (landed ? { kind: "settled" } : { kind: "unknown", message: "pending" }));
    const header = await signedPermit2Payment(before, { nonce: "6200" });
    expect((await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, before))).answer.status).toBe(503);
    const after = pricedRoute({ price: "0.02", asset: OBOL_ASSET });
    expect((await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, after))).answer.status).toBe(503);
    landed = true;
    expect((await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, after))).answer.status).toBe(200);
    expect((await forwardAuth(paidRequestV2(header), verifierDeps(facilitator, { guard }, after))).answer.status).toBe(402);
    expect(calls.settle).toBe(1);
  });
});

describe("the Permit2 settlement resolver fed a lying RPC", () => {
  const TOKEN = OBOL as `0x${string}`;
  const TX = `0x${"77".repeat(32)}` as `0x${string}`;
  async function payment(overrides = {}): Promise<Permit2Payment> {
    const decoded = decodePaymentHeader(await signedPermit2Payment(only(shop(), 1), { nonce: "1025", ...overrides }), 2);
    if (!decoded.ok) throw new Error(decoded.reason);
    return decoded.payment as Permit2Payment;
  }
  type Fake = { bitmap?: bigint; transfers?: unknown[]; invalidations?: unknown[]; transaction?: { to: string | null; input: string }; throws?: boolean };
  function client(f: Fake): PublicClient {
    return {
      getBlock: async () => ({ number: 20_000n }),
      readContract: async () => {
        if (f.throws) throw new Error("rpc down");
        return f.bitmap ?? 0n;
      },
      getLogs: async ({ event }: { event: { name: string } }) => (event.name === "Transfer" ? f.transfers ?? [] : f.invalidations ?? []),
      getTransaction: async () => f.transaction,
    } as unknown as PublicClient;
  }
  const settleInput = (p: Permit2Payment) => encodeFunctionData({ abi: EXACT_PROXY_ABI, functionName: "settle", args: proxySettleArgs(p) });
  const transfer = (p: Permit2Payment, extra: Record<string, unknown> = {}) => ({
    address: TOKEN, removed: false, transactionHash: TX, logIndex: 3, args: { from: p.authorization.from, to: p.authorization.to, value: p.authorization.value }, ...extra,
  });
  const bitOf = (p: Permit2Payment) => 1n << (p.permit2.nonce & 0xffn);

  it("counts as settled only a transfer in a transaction calling the exact proxy with this very permit", async () => {
    const p = await payment();
    expect(await resolvePermit2OnChain(client({ bitmap: bitOf(p), transfers: [transfer(p)], transaction: { to: EXACT_PERMIT2_PROXY_ADDRESS, input: settleInput(p) } }), p, TOKEN))
      .toEqual({ kind: "settled", transaction: TX, amount: p.authorization.value });
  });

  it.each<[string, (p: Permit2Payment, other: Permit2Payment) => Fake]>([
    ["a removed (reorged) transfer log", (p) => ({ transfers: [transfer(p, { removed: true })], transaction: { to: EXACT_PERMIT2_PROXY_ADDRESS, input: settleInput(p) } })],
    ["a transfer log of another contract", (p) => ({ transfers: [transfer(p, { address: USDC })], transaction: { to: EXACT_PERMIT2_PROXY_ADDRESS, input: settleInput(p) } })],
    ["a transfer of another value", (p) => ({ transfers: [transfer(p, { args: { ...transfer(p).args, value: 1n } })], transaction: { to: EXACT_PERMIT2_PROXY_ADDRESS, input: settleInput(p) } })],
    ["a transfer in a transaction to another contract", (p) => ({ transfers: [transfer(p)], transaction: { to: UPTO_PROXY, input: settleInput(p) } })],
    ["a transfer in a contract creation", (p) => ({ transfers: [transfer(p)], transaction: { to: null, input: settleInput(p) } })],
    ["a transfer in a proxy call settling another nonce", (p, other) => ({ transfers: [transfer(p)], transaction: { to: EXACT_PERMIT2_PROXY_ADDRESS, input: settleInput(other) } })],
    ["a transfer in a proxy call with garbage input", (p) => ({ transfers: [transfer(p)], transaction: { to: EXACT_PERMIT2_PROXY_ADDRESS, input: "0x13cd3b53deadbeef" } })],
    ["a transfer log without a transaction hash", (p) => ({ transfers: [transfer(p, { transactionHash: null })] })],
    ["a transfer log without arguments", (p) => ({ transfers: [transfer(p, { args: {} })], transaction: { to: EXACT_PERMIT2_PROXY_ADDRESS, input: settleInput(p) } })],
  ])("does not count %s as this payment (unknown, never settled)", async (_, fake) => {
    const p = await payment();
    const other = await payment({ nonce: "1026" });
    const f = { bitmap: bitOf(p), ...fake(p, other) };
    expect((await resolvePermit2OnChain(client(f), p, TOKEN)).kind).toBe("unknown");
  });

  it("refuses (402) only for a cancellation by Permit2 itself covering this very bit", async () => {
    const p = await payment();
    const word = p.permit2.nonce >> 8n;
    const invalidation = (extra: Record<string, unknown>) => ({ address: PERMIT2_ADDRESS, removed: false, args: { owner: p.authorization.from, word, mask: bitOf(p) }, ...extra });
    const real = await resolvePermit2OnChain(client({ bitmap: bitOf(p), invalidations: [invalidation({})] }), p, TOKEN);
    expect(real).toMatchObject({ kind: "not-settled", refusal: { reason: "payment_already_used" } });
    for (const lie of [
      invalidation({ address: OBOL }),
      invalidation({ removed: true }),
      invalidation({ args: { owner: p.authorization.from, word: word + 1n, mask: bitOf(p) } }),
      invalidation({ args: { owner: p.authorization.from, word, mask: bitOf(p) << 1n } }),
    ]) {
      expect((await resolvePermit2OnChain(client({ bitmap: bitOf(p), invalidations: [lie] }), p, TOKEN)).kind).toBe("unknown");
    }
  });

  it("answers unknown, never not-settled, when the chain cannot be read", async () => {
    const p = await payment();
    expect((await resolvePermit2OnChain(client({ throws: true }), p, TOKEN)).kind).toBe("unknown");
  });
});
