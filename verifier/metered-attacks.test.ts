// Attacks on metered payments (x402 upto) through the data path: a cheating buyer, a
// malicious or broken upstream, a broken facilitator. A real OpenAI-like upstream on loopback
// (told what to do by the request body's `act`) and a scripted facilitator.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPath } from "./data-path.ts";
import { tokenCost } from "./routes/metering.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import type { PaymentContext, Resolution, SettleOutcome } from "./x402/facilitator.ts";
import { pricedRoute, scripted, SETTLED, signedPermit2Payment, signedUptoPayment, VALID, verifierDeps } from "./test-support.ts";

const SETTLER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
type Body = Record<string, any>;
const seen: Body[] = [];
let release: () => void = () => {};
let upstream: http.Server;
let base = "";
const sse = (res: http.ServerResponse, event: unknown) => res.write(`data: ${JSON.stringify(event)}\n\n`);
/** How a pydantic (lax) server such as vLLM reads `stream`. */
const streams = (s: unknown) => [true, 1, "true", "1", "yes", "on"].includes(s as never);

beforeAll(async () => {
  upstream = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text || "{}") as Body;
    seen.push(body);
    // vLLM: max_completion_tokens wins over max_tokens, and each of n choices may be that long.
    const completion = body.act === "vllm" ? (body.max_completion_tokens ?? body.max_tokens) * (body.n ?? 1) : 30;
    const usage = body.usage ?? { prompt_tokens: 12, completion_tokens: completion };
    if (body.act === "reset-json") return void (res.writeHead(200, { "content-type": "application/json" }), res.write('{"choices":[{"mess'), setTimeout(() => req.socket.destroy(), 20));
    if (body.act === "huge") return void (res.writeHead(200, { "content-type": "application/json" }), res.end(JSON.stringify({ pad: "x".repeat(17 << 20), usage })));
    if (body.act === "redirect") return void (res.writeHead(302, { location: "/v1/elsewhere" }), res.end());
    const headers: Record<string, string> = body.act === "forge"
      ? { "payment-response": "Zm9yZ2Vk", "x-payment-response": "Zm9yZ2Vk", "set-cookie": "a=b", connection: "x-hop", "x-hop": "1" }
      : {};
    if (!streams(body.stream)) return void (res.writeHead(200, { "content-type": "application/json", ...headers }), res.end(JSON.stringify({ choices: [{ message: { content: "hi" } }], usage })));
    res.writeHead(200, { "content-type": body.act === "shouting" ? "TEXT/EVENT-STREAM" : "text/event-stream", ...headers });
    sse(res, { choices: [{ delta: { content: "the whole answer" }, finish_reason: "stop" }] });
    if (body.act === "reset-stream") return void (sse(res, { choices: [], usage }), setTimeout(() => req.socket.destroy(), 20));
    if (body.hold) await new Promise<void>((r) => (release = r));
    if (body.stream_options?.include_usage) for (const u of body.usages ?? [usage]) sse(res, { choices: [], usage: u });
    if (body.act === "endless") return; // never ends
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r()))));

const CAP = 100_000;
const cost = (tokens: number) => tokenCost({ perMTokAtomic: 1_250_000n, maxTokens: CAP }, tokens);

function setup(settle: SettleOutcome | (() => SettleOutcome) = SETTLED, resolve: Resolution = { kind: "unknown", message: "cannot tell" }) {
  const route = pricedRoute({ priceModel: "perMTok", perMTok: "1.25", price: "0.00125", upstream: { url: base, stripPrefix: "/services/llm" }, upto: { maxTokens: CAP } });
  const charges: (bigint | undefined)[] = [];
  const { facilitator, calls } = scripted(VALID, () => (typeof settle === "function" ? settle() : settle), () => resolve);
  const inner = facilitator.settle;
  facilitator.settle = (context: PaymentContext) => (charges.push(context.charge), inner(context));
  const handler = dataPath({ ...verifierDeps(facilitator, { meteredSettler: () => SETTLER }, route), upstreamTimeoutMs: 2000 });
  return { route, handler, charges, calls, setResolve: (r: Resolution) => (resolve = r) };
}
type Setup = ReturnType<typeof setup>;
const post = (body: Body | string, headers: Record<string, string> = {}) =>
  new Request("http://api.example.com/services/llm/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
const decode = (header: string) => JSON.parse(Buffer.from(header, "base64").toString("utf8"));

/** The accepts the 402 offers for `body`. */
async function offered(s: Setup, body: Body | string): Promise<Record<string, any>[]> {
  const response = await s.handler(post(body));
  expect(response.status).toBe(402);
  return decode(response.headers.get("payment-required")!).accepts;
}
const asAccept = (route: PricedRoute, u: Record<string, any>) =>
  ({ ...route.accepts[0]!, scheme: "upto" as const, amount: BigInt(u.amount), v2Requirement: u, facilitator: SETTLER as `0x${string}`, asset: { ...route.accepts[0]!.asset, transferMethod: "permit2" as const } });
/** The buyer's upto permit for exactly what the 402 offers for `body`. */
async function permitFor(s: Setup, body: Body | string, nonce: string) {
  const upto = (await offered(s, body)).find((a) => a.scheme === "upto")!;
  return { header: await signedUptoPayment(asAccept(s.route, upto), { nonce }), max: BigInt(upto.amount) };
}
const paid = (header: string, body: Body | string) => post(body, { "payment-signature": header });
const readAll = async (response: Response) => new TextDecoder().decode(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
const settleDown = () => new Promise((r) => setTimeout(r, 80));

describe("a cheating buyer on a metered route", () => {
  it("cannot pay a bigger request with a small request's permit, nor swap exact and upto terms and permits", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 10 };
    const [exact, upto] = await offered(s, body);
    const small = await signedUptoPayment(asAccept(s.route, upto!), { nonce: "701" });
    const uptoForExact = await signedUptoPayment({ ...asAccept(s.route, upto!), v2Requirement: exact! }, { nonce: "702" });
    const exactForUpto = await signedPermit2Payment(s.route, { amount: upto!.amount, nonce: "703" }, { accepted: upto });
    const before = seen.length;
    expect((await s.handler(paid(small, { model: "m", max_tokens: 50_000 }))).status).toBe(402);
    for (const header of [uptoForExact, exactForUpto]) expect((await s.handler(paid(header, body))).status).toBe(402);
    expect(seen.length).toBe(before);
    expect(s.charges).toEqual([]);
  });

  it("a duplicated max_tokens: the upstream reads the same one the maximum was computed from", async () => {
    const s = setup();
    const raw = '{"model":"m","max_tokens":10,"max_tokens":4000}';
    const { header, max } = await permitFor(s, raw, "704");
    expect(max).toBe(cost(4000 + Buffer.byteLength(raw)));
    expect((await s.handler(paid(header, raw))).status).toBe(200);
    expect(seen.at(-1)!.max_tokens).toBe(4000);
  });

  it("a permit charged nothing (zero usage) cannot be used again", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 10, usage: { total_tokens: 0 } };
    const { header } = await permitFor(s, body, "705");
    expect((await s.handler(paid(header, body))).status).toBe(200);
    const before = seen.length;
    expect((await s.handler(paid(header, body))).status).toBe(402);
    expect(seen.length).toBe(before);
    expect(s.charges).toEqual([0n]);
  });

  it("a stream asked with include_usage:false is still asked for its usage, and charged it", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 100, stream: true, stream_options: { include_usage: false } };
    const { header } = await permitFor(s, body, "706");
    await readAll(await s.handler(paid(header, body)));
    expect(seen.at(-1)!.stream_options).toEqual({ include_usage: true });
    expect(s.charges).toEqual([cost(42)]);
  });

  it("a stream asked as \"stream\": \"true\" (which a pydantic upstream streams without reporting usage) is not offered upto at all", async () => {
    const s = setup();
    for (const stream of ["true", 1, "yes"]) {
      const body = { model: "m", max_tokens: 100, stream };
      expect((await offered(s, body)).map((a) => a.scheme)).toEqual(["exact"]);
    }
  });

  it("the maximum offered covers what the upstream may make: max_completion_tokens above max_tokens, n choices", async () => {
    const s = setup();
    const bodies = [{ model: "m", act: "vllm", max_tokens: 1, max_completion_tokens: 5000 }, { model: "m", act: "vllm", max_tokens: 100, n: 50 }];
    for (const [i, body] of bodies.entries()) {
      const { header, max } = await permitFor(s, body, String(708 + i));
      expect((await s.handler(paid(header, body))).status).toBe(200);
      expect(s.charges.at(-1)).toBe(cost(5012)); // what the upstream made (12 prompt + 5000 tokens)
      expect(max).toBeGreaterThanOrEqual(cost(5012));
    }
  });

  it("a body over 1 MiB is refused 413 before anything is paid or forwarded", async () => {
    const s = setup();
    const before = seen.length;
    const response = await s.handler(post({ model: "m", prompt: "x".repeat(1 << 20) }));
    expect(response.status).toBe(413);
    expect(seen.length).toBe(before);
  });

  it("leaving a stream that never ends, after its usage was reported, is charged that usage", async () => {
    const s = setup();
    const endless = { model: "m", max_tokens: 100, stream: true, act: "endless" };
    const { header } = await permitFor(s, endless, "710");
    const reader = (await s.handler(paid(header, endless))).body!.getReader();
    let text = "";
    while (!text.includes("usage")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    await settleDown();
    expect(s.charges).toEqual([cost(42)]);
  });

  it("leaving right after the last content event, before the usage event arrived, still pays what the upstream used", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 100, stream: true, hold: true };
    const { header } = await permitFor(s, body, "711");
    const reader = (await s.handler(paid(header, body))).body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"finish_reason":"stop"');
    await reader.cancel(); // the buyer has the whole answer
    release(); // the upstream reports its usage just after
    await settleDown();
    expect(s.charges).toEqual([cost(42)]);
  });
});

describe("a malicious or broken upstream of a metered route", () => {
  it("charges reported usage only: capped at the maximum, never for negative, fractional or string counts", async () => {
    const s = setup();
    const cases: [Body, bigint][] = [
      [{ total_tokens: 9_000_000 }, 0n], // capped below: at the maximum
      [{ total_tokens: -5, prompt_tokens: 10, completion_tokens: 20 }, cost(30)],
      [{ total_tokens: 10.5 }, 0n],
      [{ total_tokens: "100" }, 0n],
      [{ prompt_tokens: -100, completion_tokens: -1 }, 0n],
    ];
    for (const [i, [usage, expected]] of cases.entries()) {
      const body = { model: "m", max_tokens: 10, usage };
      const { header, max } = await permitFor(s, body, String(720 + i));
      const response = await s.handler(paid(header, body));
      expect(response.status).toBe(200);
      expect(s.charges.at(-1)).toBe(i === 0 ? max : expected);
      expect(decode(response.headers.get("payment-response")!).amount).toBe(String(s.charges.at(-1)));
    }
  });

  it("usage in many events: the last is charged, within the maximum", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 100, stream: true, usages: [{ total_tokens: 50 }, { total_tokens: 1_000_000 }, { total_tokens: 70 }] };
    const { header } = await permitFor(s, body, "730");
    const text = await readAll(await s.handler(paid(header, body)));
    expect(decode(/^: x402-payment-response (\S+)$/m.exec(text)![1]!).amount).toBe(String(cost(70)));
    expect(s.charges).toEqual([cost(70)]);
  });

  it("a reset mid-stream charges the usage reported before it; the buyer's stream errors", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 100, stream: true, act: "reset-stream" };
    const { header } = await permitFor(s, body, "731");
    const response = await s.handler(paid(header, body));
    await expect(response.text()).rejects.toThrow();
    expect(s.charges).toEqual([cost(42)]);
  });

  it("a reset in the middle of a JSON answer: 502, nothing charged, and the permit is free to pay again", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 100, act: "reset-json" };
    const { header } = await permitFor(s, body, "732");
    const response = await s.handler(paid(header, body));
    expect(s.charges.filter((c) => c !== 0n)).toEqual([]);
    expect(response.status).toBe(502); // the upstream broke off: no answer (not "internal error")
    // The hold was let go: the same permit is verified and forwarded afresh (not "being processed" until it lapses).
    const retry = await s.handler(paid(header, body));
    expect(await retry.text()).not.toContain("being processed");
    expect(retry.status).toBe(502);
  });

  it("a JSON answer too large to meter is not served and charges nothing", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 100, act: "huge" };
    const { header } = await permitFor(s, body, "733");
    const response = await s.handler(paid(header, body));
    expect(response.status).toBe(502);
    expect((await response.text()).length).toBeLessThan(1000);
    expect(s.charges.filter((c) => c !== 0n)).toEqual([]);
  }, 20_000);

  it("a redirect is passed on, not followed, and charged nothing (it reports no usage)", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 100, act: "redirect" };
    const { header } = await permitFor(s, body, "734");
    const before = seen.length;
    const response = await s.handler(paid(header, body));
    expect(response.status).toBe(302);
    expect(seen.length).toBe(before + 1);
    expect(s.charges.filter((c) => c !== 0n)).toEqual([]);
  });

  it("a stream whose content type is in capitals is still read as a stream and charged its usage", async () => {
    const s = setup();
    const body = { model: "m", max_tokens: 100, stream: true, act: "shouting" };
    const { header } = await permitFor(s, body, "735");
    await readAll(await s.handler(paid(header, body)));
    expect(s.charges).toEqual([cost(42)]);
  });

  it("the buyer never sees the upstream's own payment receipts or hop-by-hop headers", async () => {
    const s = setup();
    for (const [i, stream] of [false, true].entries()) {
      const body = { model: "m", max_tokens: 100, stream, act: "forge" };
      const { header } = await permitFor(s, body, String(736 + i));
      const response = await s.handler(paid(header, body));
      await readAll(response);
      expect(response.headers.get("x-hop")).toBeNull();
      expect(response.headers.get("x-payment-response")).toBeNull();
      expect(response.headers.get("payment-response")).not.toBe("Zm9yZ2Vk");
    }
  });
});

describe("a broken facilitator at the end of a metered answer", () => {
  it("JSON: a failed or unavailable settlement withholds the answer and frees the permit; an unknown one keeps it held (503)", async () => {
    for (const [i, [outcome, status]] of ([[{ kind: "failed", reason: "insufficient_funds", message: "poor" }, 402], [{ kind: "unavailable", message: "down" }, 503], [{ kind: "unknown", message: "lost" }, 503]] as const).entries()) {
      const s = setup(outcome as SettleOutcome);
      const body = { model: "m", max_tokens: 100 };
      const { header } = await permitFor(s, body, String(740 + i));
      const response = await s.handler(paid(header, body));
      expect(response.status).toBe(status);
      expect(await response.text()).not.toContain("choices");
      const before = s.calls.resolve;
      const retry = await s.handler(paid(header, body));
      if (outcome.kind === "unknown") expect([retry.status, s.calls.resolve - before]).toEqual([503, 1]);
      else expect(s.calls.settle).toBe(2); // freed: the same permit was verified and settled again
    }
  });

  it("a retry resolved as landed says, and charged, what the chain shows moved, never the permit's maximum", async () => {
    for (const [i, tokens] of [0, 1, 42, 5000].entries()) {
      const s = setup({ kind: "unknown", message: "lost" });
      const body = { model: "m", max_tokens: 6000 };
      const { header, max } = await permitFor(s, body, String(760 + i));
      expect((await s.handler(paid(header, body))).status).toBe(503);
      s.setResolve({ kind: "settled", transaction: `0x${"cd".repeat(32)}`, amount: cost(tokens) });
      const retry = await s.handler(paid(header, body));
      expect(retry.status).toBe(200);
      const receipt = decode(retry.headers.get("payment-response")!);
      expect([receipt.amount, receipt.transaction]).toEqual([String(cost(tokens)), `0x${"cd".repeat(32)}`]);
      expect(cost(tokens) < max).toBe(true);
      expect(s.calls.settle).toBe(1); // resolved from the chain, not settled again
    }
  });

  it("stream: delivered before its settlement went unknown, its permit counts as used and never buys a second answer", async () => {
    const s = setup({ kind: "unknown", message: "lost" });
    const body = { model: "m", max_tokens: 100, stream: true };
    const { header } = await permitFor(s, body, "750");
    const text = await readAll(await s.handler(paid(header, body)));
    expect(text).toContain("the whole answer");
    expect(text).not.toContain("x402-payment-response");
    const before = seen.length;
    for (const resolution of [undefined, { kind: "settled" as const, transaction: `0x${"ab".repeat(32)}` }]) {
      if (resolution) s.setResolve(resolution);
      const retry = await s.handler(paid(header, body));
      expect(retry.status).toBe(402);
      expect(await retry.text()).toContain("already used");
    }
    expect(seen.length).toBe(before); // the answer was delivered with the first attempt, and only then
  });
});
