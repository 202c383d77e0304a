// The verifier's money rules as invariants over generated worlds, not examples: routes in
// several namespaces, requests through an offer's Middleware or not, buyers who pay the
// right route, another route, or not at all, and a facilitator (over real HTTP, through
// the real client) that lands payments or not and answers truthfully, or with garbage.
// After every answer:
//   - a request that came through an offer's Middleware is never free, and every price
//     asked or paid is that route's (its amount, its payTo), whatever else the table holds;
//   - a paid request is let through only after its payment landed, and at most once;
//   - once a payment may have landed, nobody is asked to pay again for it (no 402) until it
//     was served;
//   - the answer is one of 200, 400, 402, 403, 414, 503, and nothing throws.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { privateKeyToAccount } from "viem/accounts";
import { seededRandom } from "../tests/support/seeded-random.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { remoteFacilitator } from "./x402/facilitator-remote.ts";
import { forwardAuth } from "./forward-auth.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import { buildRouteTable } from "./routes/table.ts";
import { pricedRoute, request, signedPayment, verifierDeps } from "./test-support.ts";

const SCENARIOS = 300;
const BUYERS = [
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
].map((key) => privateKeyToAccount(key as `0x${string}`));
const PAYEES = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x90F79bf6EB2c4f870365E785982E1f101E93b906", "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"];
const PREFIXES = ["/services/a", "/services/a/v1", "/services/b", "/api", "/api/premium"];
const PATHS = ["/services/a/v1/chat", "/services/a/x", "/services/b/v1/chat", "/api/premium/x", "/api/x", "/free", "/services/a/..%5Cfree", "/api/%2e%2e/free"];
const GARBAGE = [
  { status: 200, raw: "<html>502</html>" }, { status: 200, raw: '{"success":tr' }, { status: 429, raw: '{"success":false,"errorReason":"insufficient_funds"}' },
  { status: 500, raw: "{}" }, { status: 200, raw: '{"success":false,"errorReason":"invalid_exact_evm_transaction_failed","transaction":""}' },
  { status: 200, raw: '{"success":false,"errorReason":"settlement_pending"}' }, { status: 200, raw: '{"success":false,"errorReason":"who knows"}' },
];

/** A facilitator with a chain behind it: it knows which nonces landed, and answers truthfully or with garbage. */
function world(rand: () => number) {
  const landed = new Set<string>();
  const received: { path: string; to: string; amount: string }[] = [];
  const nonceOf = (body: { paymentPayload: { payload: { authorization: { nonce: string } } } }) => body.paymentPayload.payload.authorization.nonce;
  const server = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text);
    const nonce = nonceOf(body);
    received.push({ path: req.url!, to: body.paymentPayload.payload.authorization.to, amount: body.paymentRequirements.maxAmountRequired });
    const send = (answer: { status: number; raw: string }) => (res.writeHead(answer.status, { "content-type": "application/json" }), res.end(answer.raw));
    const json = (value: unknown) => send({ status: 200, raw: JSON.stringify(value) });
    const garbage = () => send(GARBAGE[Math.floor(rand() * GARBAGE.length)]!);
    if (req.url === "/verify") {
      if (rand() < 0.15) return garbage();
      if (landed.has(nonce)) return json({ isValid: false, invalidReason: "invalid_exact_evm_nonce_already_used" });
      return json(rand() < 0.15 ? { isValid: false, invalidReason: "invalid_exact_evm_insufficient_balance" } : { isValid: true });
    }
    if (landed.has(nonce)) return rand() < 0.5 ? garbage() : json({ success: false, errorReason: "invalid_exact_evm_nonce_already_used" });
    const lands = rand() < 0.7;
    if (lands) landed.add(nonce);
    // A payment that landed may still be reported as garbage; one that did not is reported truthfully or as garbage.
    if (rand() < 0.4) return garbage();
    return json(lands ? { success: true, transaction: `0x${"ab".repeat(32)}` } : { success: false, errorReason: "invalid_exact_evm_insufficient_balance" });
  });
  return { server, landed, received };
}

describe("money invariants over generated worlds", () => {
  let facility: ReturnType<typeof world>;
  let rand: () => number;
  let url = "";

  beforeAll(async () => {
    rand = seededRandom(4021);
    facility = world(rand);
    await new Promise<void>((r) => facility.server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(facility.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => (facility.server.closeAllConnections(), facility.server.close(() => r()))));

  it(`hold in ${SCENARIOS} generated scenarios`, { timeout: 120_000 }, async () => {
    const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)]!;
    const violations: string[] = [];
    let nonce = 1;
    const served = new Map<string, number>();
    const outcomes = new Map<string, number>();
    for (let scenario = 0; scenario < SCENARIOS; scenario++) {
      const routes: PricedRoute[] = PREFIXES.filter(() => rand() < 0.6).map((prefix, i) =>
        pricedRoute({ pattern: `${prefix}/*`, price: `0.${String(1 + Math.floor(rand() * 99999)).padStart(6, "0")}`, payTo: pick(PAYEES) }, { name: `r${i}`, namespace: pick(["shop", "zzz", "other"]) })
      );
      const table = buildRouteTable(routes.map((r) => ({ pattern: r.pattern, value: r })));
      const via = routes.length > 0 && rand() < 0.5 ? pick(routes).key : rand() < 0.1 ? "gone/unknown" : undefined;
      const deps = verifierDeps(remoteFacilitator({ url }), { routes: () => table, routeByKey: (key) => routes.find((r) => r.key === key), answerTimeoutMs: 4000 });
      const path = pick(PATHS);
      const charged = via !== undefined ? routes.find((r) => r.key === via) : table.lookup(path.includes("%") ? "-" : path);
      // The buyer pays what some route asks: often the charged one, sometimes another route's price or payee.
      const paidFor = charged && rand() < 0.7 ? charged : routes.length > 0 ? pick(routes) : undefined;
      const buyer = pick(BUYERS);
      const header = paidFor && rand() < 0.8
        ? await signedPayment({ from: buyer.address, to: paidFor.accepts[0]!.payTo, value: String(paidFor.accepts[0]!.amount) }, { signer: buyer, nonce: nonce++ })
        : undefined;
      const key = header ?? "";
      const attempts = header ? 1 + Math.floor(rand() * 4) : 1;
      for (let attempt = 0; attempt < attempts; attempt++) {
        const concurrent = header && rand() < 0.3 ? 3 : 1;
        const answers = await Promise.all(Array.from({ length: concurrent }, () => {
          const headers: Record<string, string> = { "x-forwarded-uri": path, "x-forwarded-host": "shop.example" };
          if (header) headers["x-payment"] = header;
          return Promise.resolve(forwardAuth(request(headers), deps, via)).catch((error) => ({ answer: { status: -1, body: String(error), headers: {} } }));
        }));
        for (const { answer } of answers) {
          const where = `scenario ${scenario} (path ${path}, via ${via}, attempt ${attempt}): ${answer.status} ${answer.body.slice(0, 120)}`;
          outcomes.set(`${header ? "paid" : "unpaid"} ${answer.status}`, (outcomes.get(`${header ? "paid" : "unpaid"} ${answer.status}`) ?? 0) + 1);
          if (![200, 400, 402, 403, 414, 503].includes(answer.status)) violations.push(`unexpected status: ${where}`);
          if (answer.status === 402) {
            const accepts = JSON.parse(answer.body).accepts[0];
            if (!charged || accepts.payTo !== charged.accepts[0]!.payTo || accepts.maxAmountRequired !== String(charged.accepts[0]!.amount)) violations.push(`asked for another route's price: ${where}`);
          }
          if (answer.status === 200 && !header && (via !== undefined || charged)) violations.push(`priced request let through free: ${where}`);
          if (header && (via !== undefined || charged)) {
            const landed = facility.landed.has(JSON.parse(Buffer.from(header, "base64").toString()).payload.authorization.nonce);
            if (answer.status === 200 && !landed) violations.push(`served without a landed payment: ${where}`);
            if (answer.status === 200) served.set(key, (served.get(key) ?? 0) + 1);
            if (answer.status === 402 && landed && !served.get(key)) violations.push(`asked to pay again for a payment that landed: ${where}`);
          }
        }
      }
    }
    for (const [key, count] of served) if (count > 1) violations.push(`served ${count} times for one payment: ${key.slice(0, 40)}`);
    for (const r of facility.received) if (!PAYEES.includes(r.to)) violations.push(`facilitator asked to pay ${r.to}`);
    expect(violations).toEqual([]);
    // Not vacuous: every kind of answer happened.
    const missing = ["unpaid 200", "unpaid 402", "unpaid 400", "unpaid 503", "paid 200", "paid 402", "paid 503"].filter((kind) => !outcomes.get(kind));
    expect(missing).toEqual([]);
    expect(facility.landed.size).toBeGreaterThan(20);
  });
});
