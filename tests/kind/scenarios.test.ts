// The end-to-end scenarios on a real control plane (etcd, kube-apiserver with RBAC,
// kube-controller-manager with the garbage collector), real Traefik, a real chain and the
// official x402 clients, with the controller and verifier as separate processes, first on
// Node, then on Deno. Each test is one scenario, in the order a user would meet them.
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment as wrapV2, x402Client } from "@x402/fetch";
import { x402HTTPClient } from "@x402/core/client";
import { UptoEvmScheme } from "@x402/evm/upto/client";
import { createPublicClient, createWalletClient, erc20Abi, http, maxUint256, parseAbi, publicActions } from "viem";
import { createPaymentHeader } from "x402/client";
import { privateKeyToAccount } from "viem/accounts";
import { decodeXPaymentResponse, wrapFetchWithPayment as wrapV1 } from "x402-fetch";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CHILD_RESOURCES, type ChildKind, HTTP_ROUTE, MIDDLEWARE, PAYMENT_ROUTE } from "../../core/kinds.ts";
import { resourcePath } from "../../kube/resources.ts";
import { apply, getOrUndefined, readManifests } from "../../dev/apply.ts";
import { applyOffer, askedPrice, condition, controllerWrites, getOffer, offerPath, usdcBalance, viaGateway, waitReady } from "../../dev/cluster-helpers.ts";
import { type Component, type Stack, startStack, UPSTREAM } from "../../dev/stack.ts";
import { PROJECT_ROOT, waitFor } from "../../dev/process.ts";
import { PERMIT2_ADDRESS } from "../../dev/chain/chain.ts";
import path from "node:path";

let stack: Stack;
let controller: Component;
let verifier: Component;
/** Every controller started, so that none is left holding the lease. */
const controllers: Component[] = [];
const startController = async (runtime: "node" | "deno", identity: string) => {
  const started = await stack.startController(runtime, identity);
  controllers.push(started);
  return started;
};

const spec = (price = "0.001", extra: object = {}) => ({
  type: "inference",
  model: { name: "qwen3:0.6b", runtime: "ollama" },
  upstream: { service: UPSTREAM.service, namespace: UPSTREAM.namespace, port: UPSTREAM.port },
  payment: { network: "base-sepolia", payTo: stack.payTo, price: { perRequest: price } },
  upstreamAuth: { secretKeyRef: { name: UPSTREAM.secret, key: UPSTREAM.secretKey }, scheme: "Bearer" },
  ...extra,
});
/** The verifier's settled revenue for llm/qwen, in atomic units (0 before any payment). */
const qwenRevenue = async () => {
  const text = await (await fetch(new URL("/metrics", stack.verifierUrl))).text();
  const line = text.split("\n").find((l) => l.startsWith('x402_verifier_revenue_atomic_total{offer_namespace="llm",offer_name="qwen",chain="base-sepolia",asset_symbol="USDC"'));
  return line ? Number(line.split(" ").at(-1)) : 0;
};
const child = (kind: ChildKind, namespace: string, name: string) =>
  getOrUndefined<{ metadata: { ownerReferences?: { uid: string; controller: boolean }[] }; spec: Record<string, unknown>; status?: Record<string, unknown> }>(stack.admin, resourcePath(CHILD_RESOURCES[kind], namespace, name));

beforeAll(async () => {
  stack = await startStack();
  await apply(stack.admin, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } }]);
  verifier = await stack.startVerifier("node");
  controller = await startController("node", "controller-a");
}, 600_000);

afterAll(async () => {
  await stack?.stop();
});

// A failed scenario shows what the components said.
afterEach((context) => {
  if (context.task.result?.state !== "fail") return;
  for (const [name, c] of [["controller", controller], ["verifier", verifier]] as const) {
    console.log(`--- ${name} output (last lines)\n${c?.process.output().split("\n").slice(-25).join("\n")}`);
  }
});

describe("on Node", () => {
  it("reconcile: an applied offer is Ready within a second, with owned children and an admitted route", async () => {
    await applyOffer(stack.admin, "llm", "qwen", spec());
    const ms = await waitReady(stack.admin, "llm", "qwen", 5000);
    expect(ms).toBeLessThan(1000);
    const offer = (await getOffer(stack.admin, "llm", "qwen"))!;
    for (const type of ["UpstreamHealthy", "PaymentGateReady", "RoutePublished", "Ready"]) expect(condition(offer, type)?.status).toBe("True");
    expect(offer.status?.endpoint).toBe("/services/qwen");
    for (const [kind, name] of [["Middleware", "x402-qwen"], ["PaymentRoute", "qwen-payment"], ["HTTPRoute", "so-qwen"]] as const) {
      const object = await child(kind, "llm", name);
      expect(object?.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: offer.metadata.uid, controller: true, blockOwnerDeletion: true })]);
    }
    expect((await child("PaymentRoute", "llm", "qwen-payment"))?.status).toMatchObject({ admitted: true });
    // `kubectl get so` asks the API server for a Table; these are its columns and values.
    const table = await stack.admin.request<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }>("GET", offerPath("llm"), { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Type", "Model", "Price", "Asset", "Network", "Ready", "Age"]);
    // No asset named: the network's USDC, and the Asset column is empty.
    expect(table.rows[0]!.cells.slice(0, 7)).toEqual(["qwen", "inference", "qwen3:0.6b", "0.001", null, "base-sepolia", "True"]);
  });

  it("paid flow through Traefik: 402 for both protocol versions, then both official clients pay and reach the upstream", async () => {
    // Ready says the gateway accepted the route; Traefik starts serving it moments later.
    await waitFor("route served by Traefik", async () => (await viaGateway(stack, "/services/qwen/x")).status === 402, 5000);
    const unpaid = await viaGateway(stack, "/services/qwen/v1/chat/completions");
    expect(unpaid.status).toBe(402);
    expect(unpaid.json()).toMatchObject({ x402Version: 1, accepts: [{ maxAmountRequired: "1000", network: "base-sepolia", payTo: stack.payTo }] });
    expect(JSON.parse(Buffer.from(unpaid.headers.get("payment-required")!, "base64").toString())).toMatchObject({ x402Version: 2, accepts: [{ amount: "1000", network: "eip155:84532" }] });

    const v1Buyer = privateKeyToAccount(stack.chain.accounts[2]!.privateKey);
    const v2Buyer = privateKeyToAccount(stack.chain.accounts[3]!.privateKey);
    const [sellerBefore, v1Before, v2Before] = await Promise.all([usdcBalance(stack, stack.payTo), usdcBalance(stack, v1Buyer.address), usdcBalance(stack, v2Buyer.address)]);
    const revenueBefore = await qwenRevenue();

    const v1 = await wrapV1(fetch, v1Buyer, 1_000_000n)(`${stack.traefik.url}/services/qwen/v1/chat/completions`);
    expect(v1.status).toBe(200);
    const seen = await v1.json();
    expect(seen).toMatchObject({ path: "/v1/chat/completions", authorization: `Bearer ${UPSTREAM.secretValue}` });
    expect(String(seen.payer).toLowerCase()).toBe(v1Buyer.address.toLowerCase());

    const client = new x402Client();
    registerExactEvmScheme(client, { signer: v2Buyer });
    const v2 = await wrapV2(fetch, client)(`${stack.traefik.url}/services/qwen/v1/embeddings`);
    expect(v2.status).toBe(200);
    expect(await v2.json()).toMatchObject({ path: "/v1/embeddings", authorization: `Bearer ${UPSTREAM.secretValue}` });

    expect(await usdcBalance(stack, stack.payTo)).toBe(sellerBefore + 2000n);
    expect(await usdcBalance(stack, v1Buyer.address)).toBe(v1Before - 1000n);
    expect(await usdcBalance(stack, v2Buyer.address)).toBe(v2Before - 1000n);
    // The verifier's revenue series say what the chain says.
    expect(await qwenRevenue()).toBe(revenueBefore + 2000);
  });

  it("assets: an offer priced 0.001 OBOL (18 decimals, Permit2) asks for 10^15 OBOL and is paid by the official client through Traefik, in OBOL, counted as OBOL", async () => {
    const obol = { address: stack.chain.obol.address, symbol: "OBOL", decimals: 18, transferMethod: "permit2" };
    await applyOffer(stack.admin, "llm", "obol", spec("0.001", { payment: { network: "base-sepolia", payTo: stack.payTo, price: { perRequest: "0.001" }, asset: obol } }));
    await waitReady(stack.admin, "llm", "obol", 5000);
    expect((await child("PaymentRoute", "llm", "obol-payment"))?.spec).toMatchObject({ price: "0.001", amount: "1000000000000000", asset: obol });
    await waitFor("route served by Traefik", async () => (await viaGateway(stack, "/services/obol/x")).status === 402, 15_000);
    const unpaid = await viaGateway(stack, "/services/obol/v1/chat/completions");
    expect(unpaid.json()).toMatchObject({ x402Version: 1, accepts: [] });
    expect(JSON.parse(Buffer.from(unpaid.headers.get("payment-required")!, "base64").toString()).accepts).toEqual([{
      scheme: "exact", network: "eip155:84532", amount: "1000000000000000", asset: obol.address, payTo: stack.payTo, maxTimeoutSeconds: 300, extra: { assetTransferMethod: "permit2" },
    }]);

    const buyer = privateKeyToAccount(stack.chain.accounts[1]!.privateKey);
    const wallet = createWalletClient({ account: buyer, chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) }).extend(publicActions);
    await wallet.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: obol.address, abi: erc20Abi, functionName: "approve", args: [PERMIT2_ADDRESS, maxUint256] }) });
    const obolOf = (address: `0x${string}`) => wallet.readContract({ address: obol.address, abi: erc20Abi, functionName: "balanceOf", args: [address] });
    const [sellerBefore, buyerBefore, sellerUsdcBefore] = await Promise.all([obolOf(stack.payTo), obolOf(buyer.address), usdcBalance(stack, stack.payTo)]);
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: buyer });
    client.setSpendControls({ allowedAssets: [{ network: "eip155:84532", asset: obol.address }] });
    const paid = await wrapV2(fetch, client)(`${stack.traefik.url}/services/obol/v1/chat/completions`);
    expect(paid.status).toBe(200);
    expect(await paid.json()).toMatchObject({ path: "/v1/chat/completions", authorization: `Bearer ${UPSTREAM.secretValue}` });
    expect(await obolOf(stack.payTo)).toBe(sellerBefore + 10n ** 15n);
    expect(await obolOf(buyer.address)).toBe(buyerBefore - 10n ** 15n);
    expect(await usdcBalance(stack, stack.payTo)).toBe(sellerUsdcBefore);
    const metrics = await (await fetch(new URL("/metrics", stack.verifierUrl))).text();
    expect(metrics).toContain(`x402_verifier_revenue_total{offer_namespace="llm",offer_name="obol",chain="base-sepolia",asset_symbol="OBOL",asset="${obol.address}"} 0.001\n`);
    await stack.admin.request("DELETE", offerPath("llm", "obol"));
  });

  it("several accepts: an offer taking 0.001 USDC or 0.01 OBOL lists both, and a buyer paying through the second accept pays OBOL only, through Traefik", async () => {
    const obol = { address: stack.chain.obol.address, symbol: "OBOL", decimals: 18, transferMethod: "permit2" };
    await applyOffer(stack.admin, "llm", "two-ways", spec("0.001", { payments: [{ network: "base-sepolia", payTo: stack.payTo, price: { perRequest: "0.01" }, asset: obol }] }));
    await waitReady(stack.admin, "llm", "two-ways", 5000);
    await waitFor("route served by Traefik", async () => (await viaGateway(stack, "/services/two-ways/x")).status === 402, 15_000);
    const unpaid = await viaGateway(stack, "/services/two-ways/v1/chat/completions");
    const accepts = JSON.parse(Buffer.from(unpaid.headers.get("payment-required")!, "base64").toString()).accepts as { asset: string; amount: string }[];
    expect(accepts.map((a) => [a.asset, a.amount])).toEqual([[stack.chain.token, "1000"], [obol.address, "10000000000000000"]]);
    expect(unpaid.json()).toMatchObject({ x402Version: 1, accepts: [{ asset: stack.chain.token, maxAmountRequired: "1000" }] });

    // The buyer's client prefers OBOL: the second accept.
    const buyer = privateKeyToAccount(stack.chain.accounts[1]!.privateKey);
    const reader = createWalletClient({ account: buyer, chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) }).extend(publicActions);
    const obolOf = (address: `0x${string}`) => reader.readContract({ address: obol.address, abi: erc20Abi, functionName: "balanceOf", args: [address] });
    const [sellerObol, buyerObol, sellerUsdc, buyerUsdc] = await Promise.all([obolOf(stack.payTo), obolOf(buyer.address), usdcBalance(stack, stack.payTo), usdcBalance(stack, buyer.address)]);
    const client = new x402Client((_version, requirements) => requirements.find((r) => r.asset.toLowerCase() === obol.address.toLowerCase())!);
    registerExactEvmScheme(client, { signer: buyer });
    client.setSpendControls({ allowedAssets: [{ network: "eip155:84532", asset: obol.address }, { network: "eip155:84532", asset: stack.chain.token }] });
    const paid = await wrapV2(fetch, client)(`${stack.traefik.url}/services/two-ways/v1/chat/completions`);
    expect(paid.status).toBe(200);
    expect(await paid.json()).toMatchObject({ path: "/v1/chat/completions", authorization: `Bearer ${UPSTREAM.secretValue}` });
    expect(await obolOf(stack.payTo)).toBe(sellerObol + 10n ** 16n);
    expect(await obolOf(buyer.address)).toBe(buyerObol - 10n ** 16n);
    expect(await usdcBalance(stack, stack.payTo)).toBe(sellerUsdc);
    expect(await usdcBalance(stack, buyer.address)).toBe(buyerUsdc);
    await stack.admin.request("DELETE", offerPath("llm", "two-ways"));
  });

  it("data path: an offer with dataPath is served by the verifier through Traefik; it settles only after the upstream answered, hands both official clients their receipt, and takes nothing when the upstream fails", async () => {
    await applyOffer(stack.admin, "llm", "direct", spec("0.001", { dataPath: true }));
    await waitReady(stack.admin, "llm", "direct", 5000);
    expect(await child("Middleware", "llm", "x402-direct")).toBeUndefined();
    expect((await child("PaymentRoute", "llm", "direct-payment"))?.spec).toMatchObject({ upstream: { url: `http://${UPSTREAM.service}.${UPSTREAM.namespace}.svc:${UPSTREAM.port}`, stripPrefix: "/services/direct" } });
    await waitFor("route served by Traefik", async () => (await viaGateway(stack, "/services/direct/x")).status === 402, 15_000);

    const v1Buyer = privateKeyToAccount(stack.chain.accounts[5]!.privateKey);
    const before = await usdcBalance(stack, v1Buyer.address);
    const v1 = await wrapV1(fetch, v1Buyer, 1_000_000n)(`${stack.traefik.url}/services/direct/v1/models`);
    expect(v1.status).toBe(200);
    expect(await v1.json()).toMatchObject({ path: "/v1/models", authorization: `Bearer ${UPSTREAM.secretValue}` });
    expect(decodeXPaymentResponse(v1.headers.get("x-payment-response")!)).toMatchObject({ success: true, network: "base-sepolia" });
    expect(await usdcBalance(stack, v1Buyer.address)).toBe(before - 1000n);

    const v2Buyer = privateKeyToAccount(stack.chain.accounts[6]!.privateKey);
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: v2Buyer });
    const v2 = await wrapV2(fetch, client)(`${stack.traefik.url}/services/direct/v1/embeddings`);
    expect(v2.status).toBe(200);
    expect(new x402HTTPClient(client).getPaymentSettleResponse((name) => v2.headers.get(name))).toMatchObject({ success: true, network: "eip155:84532" });

    // The upstream fails: its answer is passed on, and nothing is taken (the authorization unspent on chain).
    const unpaid = await viaGateway(stack, "/services/direct/fail");
    const header = await createPaymentHeader(v1Buyer, 1, unpaid.json().accepts[0]);
    const { nonce } = JSON.parse(Buffer.from(header, "base64").toString()).payload.authorization;
    const failedBefore = await usdcBalance(stack, v1Buyer.address);
    const failed = await fetch(`${stack.traefik.url}/services/direct/fail`, { headers: { "X-PAYMENT": header } });
    expect(failed.status).toBe(500);
    expect(await usdcBalance(stack, v1Buyer.address)).toBe(failedBefore);
    const used = await createPublicClient({ chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) }).readContract({
      address: stack.chain.token, abi: parseAbi(["function authorizationState(address, bytes32) view returns (bool)"]), functionName: "authorizationState", args: [v1Buyer.address, nonce],
    });
    expect(used).toBe(false);
  });

  it("metered data path: a streamed LLM answer through Traefik is charged exactly its usage, rounded up, with the receipt as its last line; a buyer leaving mid-stream pays what the model then reports", async () => {
    await applyOffer(stack.admin, "llm", "metered", {
      ...spec("0.001", { dataPath: true }),
      payment: { network: "base-sepolia", payTo: stack.payTo, price: { perMTok: "1.25" }, upto: { maxTokens: 4096 } },
    });
    await waitReady(stack.admin, "llm", "metered", 5000);
    await waitFor("route served by Traefik", async () => (await viaGateway(stack, "/services/metered/x")).status === 402, 15_000);
    const buyer = privateKeyToAccount(stack.chain.accounts[8]!.privateKey);
    const wallet = createWalletClient({ account: buyer, chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) }).extend(publicActions);
    await wallet.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: stack.chain.token, abi: erc20Abi, functionName: "approve", args: [PERMIT2_ADDRESS, maxUint256] }) });
    const client = new x402Client();
    client.register("eip155:84532", new UptoEvmScheme(buyer));
    const [buyerBefore, sellerBefore] = await Promise.all([usdcBalance(stack, buyer.address), usdcBalance(stack, stack.payTo)]);
    const response = await wrapV2(fetch, client)(`${stack.traefik.url}/services/metered/v1/chat/completions`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", max_tokens: 300, stream: true, completion: 230 }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const charged = (242n * 1_250_000n + 999_999n) / 1_000_000n; // 12 + 230 tokens at 1.25 USDC per million, rounded up
    const receipt = JSON.parse(Buffer.from(/^: x402-payment-response (\S+)$/m.exec(text)![1]!, "base64").toString());
    expect(receipt).toMatchObject({ success: true, amount: String(charged) });
    expect(await usdcBalance(stack, buyer.address)).toBe(buyerBefore - charged);
    expect(await usdcBalance(stack, stack.payTo)).toBe(sellerBefore + charged);

    // A buyer leaving mid-stream, through Traefik: charged the usage the model then reports, once.
    const leaving = await wrapV2(fetch, client)(`${stack.traefik.url}/services/metered/v1/chat/completions`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", max_tokens: 300, stream: true, completion: 100, pause_ms: 1000 }),
    });
    const reader = leaving.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("data:");
    const leftBefore = await usdcBalance(stack, buyer.address);
    await reader.cancel();
    const usedAfterLeaving = (112n * 1_250_000n + 999_999n) / 1_000_000n;
    await waitFor("charged what the model reported after the buyer left", async () => (await usdcBalance(stack, buyer.address)) === leftBefore - usedAfterLeaving, 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await usdcBalance(stack, buyer.address)).toBe(leftBefore - usedAfterLeaving);
    await stack.admin.request("DELETE", offerPath("llm", "metered"));
  });

  it("route hijack across namespaces: a more specific PaymentRoute elsewhere neither reprices nor redirects an offer's requests", async () => {
    const attacker = stack.chain.accounts[7]!.address;
    const routePath = (name: string) => resourcePath(PAYMENT_ROUTE, "zzz", name);
    const route = (name: string, pattern: string) => ({
      apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name, namespace: "zzz" },
      spec: { pattern, price: "0.000001", payTo: attacker, network: "base-sepolia" },
    });
    await apply(stack.admin, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "zzz" } }]);
    try {
      await apply(stack.admin, [route("evil", "/services/qwen/v1/*")]);
      await waitFor("zzz/evil admitted", async () => (await child("PaymentRoute", "zzz", "evil"))?.status?.admitted === true, 5000);
      // The attack is real: asked without the offer's Middleware, the verifier's table prices the path at evil's 1 unit, to the attacker.
      const direct = await fetch(stack.verifierUrl, { headers: { "x-forwarded-uri": "/services/qwen/v1/chat" } });
      expect(direct.status).toBe(402);
      expect((await direct.json()).accepts[0]).toMatchObject({ maxAmountRequired: "1", payTo: attacker });

      // Through Traefik the request comes through qwen's Middleware: qwen's price and recipient.
      const unpaid = await viaGateway(stack, "/services/qwen/v1/chat");
      expect(unpaid.status).toBe(402);
      expect(unpaid.json().accepts).toEqual([expect.objectContaining({ maxAmountRequired: "1000", payTo: stack.payTo, resource: expect.stringMatching(/\/services\/qwen\/v1\/chat$/) })]);
      expect(JSON.parse(Buffer.from(unpaid.headers.get("payment-required")!, "base64").toString()).accepts).toEqual([expect.objectContaining({ amount: "1000", payTo: stack.payTo })]);

      const buyer = privateKeyToAccount(stack.chain.accounts[8]!.privateKey);
      const [sellerBefore, attackerBefore, buyerBefore] = await Promise.all([usdcBalance(stack, stack.payTo), usdcBalance(stack, attacker), usdcBalance(stack, buyer.address)]);
      const paid = await wrapV1(fetch, buyer, 1_000_000n)(`${stack.traefik.url}/services/qwen/v1/chat`);
      expect(paid.status).toBe(200);
      expect(await paid.json()).toMatchObject({ path: "/v1/chat", authorization: `Bearer ${UPSTREAM.secretValue}` });
      expect(await usdcBalance(stack, stack.payTo)).toBe(sellerBefore + 1000n);
      expect(await usdcBalance(stack, attacker)).toBe(attackerBefore);
      expect(await usdcBalance(stack, buyer.address)).toBe(buyerBefore - 1000n);

      // The same pattern as qwen's, spelled with a doubled slash: refused, qwen keeps it.
      await apply(stack.admin, [route("newer", "/services/qwen//*")]);
      await waitFor("zzz/newer refused", async () => (await child("PaymentRoute", "zzz", "newer"))?.status?.reason === "PatternConflict", 5000);
      const refused = (await child("PaymentRoute", "zzz", "newer"))!.status!;
      expect(refused).toMatchObject({ admitted: false, reason: "PatternConflict" });
      expect(refused.message).toContain("llm/qwen-payment");
      expect((await child("PaymentRoute", "llm", "qwen-payment"))?.status).toMatchObject({ admitted: true });
      expect(await askedPrice(stack, "/services/qwen/x")).toBe("1000");
    } finally {
      for (const name of ["evil", "newer"]) {
        if (await getOrUndefined(stack.admin, routePath(name))) await stack.admin.request("DELETE", routePath(name));
      }
    }
    await waitFor("zzz routes gone", async () => (await child("PaymentRoute", "zzz", "evil")) === undefined && (await child("PaymentRoute", "zzz", "newer")) === undefined, 5000);
    await waitFor("verifier dropped zzz/evil", async () => {
      const direct = await fetch(stack.verifierUrl, { headers: { "x-forwarded-uri": "/services/qwen/v1/chat" } });
      return direct.status === 402 && (await direct.json()).accepts[0].maxAmountRequired === "1000";
    }, 10_000);
  });

  it("CORS preflight through Traefik: a browser's preflight reaches the upstream unpaid, any other OPTIONS is priced", async () => {
    const options = async (headers: Record<string, string>) => {
      const response = await fetch(`${stack.traefik.url}/services/qwen/v1/chat`, { method: "OPTIONS", headers });
      return { status: response.status, text: await response.text() };
    };
    const preflight = await options({ origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "payment-signature" });
    expect(preflight.status).toBe(200);
    // The upstream answered it, and without the seller's credential (that comes only with a payment).
    expect(JSON.parse(preflight.text)).toMatchObject({ path: "/v1/chat", authorization: null, payer: null });

    const notPreflights: Record<string, string>[] = [{}, { origin: "https://app.example" }, { "access-control-request-method": "POST" }];
    for (const headers of notPreflights) {
      const answer = await options(headers);
      expect(answer.status, JSON.stringify(headers)).toBe(402);
      expect(JSON.parse(answer.text).accepts[0]).toMatchObject({ maxAmountRequired: "1000", payTo: stack.payTo });
    }
  });

  it("drift: a deleted or edited child comes back, and a price change reaches the 402 within a second", async () => {
    await stack.admin.request("DELETE", resourcePath(HTTP_ROUTE, "llm", "so-qwen"));
    await waitFor("HTTPRoute restored", async () => (await child("HTTPRoute", "llm", "so-qwen")) !== undefined, 5000);
    await stack.admin.request("PATCH", resourcePath(MIDDLEWARE, "llm", "x402-qwen"), {
      contentType: "application/merge-patch+json", body: { spec: { forwardAuth: { address: "http://127.0.0.1:1/free" } } },
    });
    await waitFor("Middleware restored", async () => (await child("Middleware", "llm", "x402-qwen"))?.spec.forwardAuth !== undefined &&
      ((await child("Middleware", "llm", "x402-qwen"))!.spec.forwardAuth as { address: string }).address === `${stack.verifierUrl}?route=llm%2Fqwen-payment`, 5000);
    await waitReady(stack.admin, "llm", "qwen", 5000);
    // Traefik takes a while to settle on the restored Middleware (its log shows requests still
    // sent to the broken address for about 2 s after the first good answer, more so with more
    // routes): it must serve steadily before the price change is timed, or the time measured is
    // Traefik's, not the operator's.
    let steadySince = 0;
    await waitFor("restored Middleware serving steadily", async () => {
      if ((await askedPrice(stack, "/services/qwen/x")) !== "1000") return (steadySince = 0, false);
      steadySince ||= Date.now();
      return Date.now() - steadySince >= 3000;
    }, 20_000);

    const changed = Date.now();
    await applyOffer(stack.admin, "llm", "qwen", spec("0.002"));
    await waitFor("new price at the gateway", async () => (await askedPrice(stack, "/services/qwen/x")) === "2000", 5000);
    expect(Date.now() - changed).toBeLessThan(1000);
  });

  it("path change: while an offer's path moves, neither the old nor the new path is ever served without payment", async () => {
    await applyOffer(stack.admin, "llm", "mover", spec("0.001", { path: "/services/mover-a" }));
    await waitReady(stack.admin, "llm", "mover", 5000);
    const seen = new Map<string, number>();
    let moving = true;
    const probe = async (path: string) => {
      while (moving) {
        const key = `${path} ${(await viaGateway(stack, path)).status}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    };
    const probes = [probe("/services/mover-a/x"), probe("/services/mover-b/x")];
    await applyOffer(stack.admin, "llm", "mover", spec("0.001", { path: "/services/mover-b" }));
    await waitFor("new path priced at the gateway", async () => (await askedPrice(stack, "/services/mover-b/x")) === "1000", 5000);
    await new Promise((r) => setTimeout(r, 1500)); // until Traefik has dropped the old path
    moving = false;
    await Promise.all(probes);
    expect([...seen].filter(([key]) => key.endsWith(" 200"))).toEqual([]);
    expect(seen.get("/services/mover-b/x 402")).toBeGreaterThan(0);
    await stack.admin.request("DELETE", offerPath("llm", "mover"));
  });

  it("invalid offers: wrong values and fields we do not implement give Ready=False naming the field, other offers are unaffected, nothing crashes", async () => {
    await applyOffer(stack.admin, "llm", "bad-network", spec("0.001", { payment: { network: "ethereum-classic", payTo: stack.payTo, price: { perRequest: "0.001" } } }));
    await applyOffer(stack.admin, "llm", "bad-decimals", spec("0.0000001"));
    // A token named without the decimals its price is counted in: refused by name, never charged in USDC.
    const obol = { address: "0x4444444444444444444444444444444444444444", symbol: "OBOL", transferMethod: "permit2" };
    await applyOffer(stack.admin, "llm", "obol-priced", spec("0.001", { payment: { network: "base-sepolia", payTo: stack.payTo, price: { perRequest: "0.001" }, asset: obol } }));
    // A field this operator does not implement, kept by the API server (not pruned) and refused by name.
    await applyOffer(stack.admin, "llm", "limited", spec("0.001", { limits: { rps: 5 } }));
    const invalid = [["bad-network", "spec.payment.network"], ["bad-decimals", "spec.payment.price.perRequest"], ["obol-priced", "spec.payment.asset.decimals"], ["limited", "spec.limits"]] as const;
    for (const [name, field] of invalid) {
      await waitFor(`${name} refused`, async () => condition(await getOffer(stack.admin, "llm", name), "Ready")?.reason === "InvalidSpec", 5000);
      const ready = condition(await getOffer(stack.admin, "llm", name), "Ready")!;
      expect(ready.status).toBe("False");
      expect(ready.message).toContain(field);
      expect(await child("HTTPRoute", "llm", `so-${name}`)).toBeUndefined();
      expect(await child("PaymentRoute", "llm", `${name}-payment`)).toBeUndefined();
    }
    // A PaymentRoute written by hand with the same incomplete asset: the verifier refuses it by name.
    await apply(stack.admin, [{
      apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "token-route", namespace: "llm" },
      spec: { pattern: "/services/token/*", price: "0.001", payTo: stack.payTo, network: "base-sepolia", asset: obol },
    }]);
    await waitFor("token-route refused", async () => (await child("PaymentRoute", "llm", "token-route"))?.status?.admitted === false, 5000);
    expect((await child("PaymentRoute", "llm", "token-route"))?.status?.message).toContain("spec.asset.decimals");
    expect(condition(await getOffer(stack.admin, "llm", "qwen"), "Ready")?.status).toBe("True");
    expect(controller.process.child.exitCode).toBeNull();
    for (const [name] of invalid) await stack.admin.request("DELETE", offerPath("llm", name));
    await stack.admin.request("DELETE", resourcePath(PAYMENT_ROUTE, "llm", "token-route"));
  });

  it("cascade deletion: the finalizer (ours, or obol-stack's) and the garbage collector remove every child, and the route stops", async () => {
    // An offer in another namespace than its upstream, so a ReferenceGrant is involved too.
    await applyOffer(stack.admin, "shop", "remote", { ...spec(), upstreamAuth: undefined });
    await waitReady(stack.admin, "shop", "remote");
    expect(await child("ReferenceGrant", "llm", "so-shop-remote")).toBeDefined();
    await waitFor("route served by Traefik", async () => (await askedPrice(stack, "/services/remote/x")) === "1000", 5000);

    await stack.admin.request("DELETE", offerPath("shop", "remote"));
    await waitFor("offer gone", async () => (await getOffer(stack.admin, "shop", "remote")) === undefined, 10_000);
    await waitFor("children gone", async () => {
      const left = await Promise.all([child("Middleware", "shop", "x402-remote"), child("PaymentRoute", "shop", "remote-payment"), child("HTTPRoute", "shop", "so-remote"), child("ReferenceGrant", "llm", "so-shop-remote")]);
      return left.every((o) => o === undefined);
    }, 15_000);
    await waitFor("route gone from Traefik", async () => (await viaGateway(stack, "/services/remote/x")).status === 404, 10_000);
    const verify = await fetch(stack.verifierUrl, { headers: { "x-forwarded-uri": "/services/remote/x" } });
    expect(verify.status).toBe(200); // the verifier dropped the route: nothing prices that path any more

    // An offer that a newer obol-stack controller finalized does not hang on delete under ours.
    await apply(stack.admin, [{ apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name: "legacy", namespace: "llm", finalizers: ["monetize.obol.org/finalizer"] }, spec: spec() }]);
    await waitReady(stack.admin, "llm", "legacy");
    await stack.admin.request("DELETE", offerPath("llm", "legacy"));
    await waitFor("legacy offer gone", async () => (await getOffer(stack.admin, "llm", "legacy")) === undefined, 10_000);
  });

  it("verifier survival after controller loss: payments go on and new routes are picked up; the restarted controller writes nothing needless", async () => {
    controller.process.child.kill("SIGKILL");
    await controller.process.exited;
    expect(await askedPrice(stack, "/services/qwen/x")).toBe("2000");
    const buyer = privateKeyToAccount(stack.chain.accounts[4]!.privateKey);
    expect((await wrapV1(fetch, buyer, 1_000_000n)(`${stack.traefik.url}/services/qwen/v1/chat`)).status).toBe(200);
    // The data path goes on too: the verifier is the backend, and needs no controller.
    expect((await wrapV1(fetch, buyer, 1_000_000n)(`${stack.traefik.url}/services/direct/v1/chat`)).status).toBe(200);

    await apply(stack.admin, [{
      apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name: "manual-payment", namespace: "llm" },
      spec: { pattern: "/manual/*", price: "0.000042", amount: "42", payTo: stack.payTo, network: "base-sepolia", priceModel: "perRequest" },
    }]);
    await waitFor("manual route priced", async () => {
      const answer = await fetch(stack.verifierUrl, { headers: { "x-forwarded-uri": "/manual/x" } });
      return answer.status === 402 && (await answer.json()).accepts[0].maxAmountRequired === "42";
    }, 5000);
    await waitFor("manual route admitted", async () => (await child("PaymentRoute", "llm", "manual-payment"))?.status?.admitted === true, 5000);

    const restarted = Date.now();
    controller = await startController("node", "controller-a2");
    await waitFor("restarted controller leads", async () => controller.process.output().includes("became leader"), 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(controllerWrites(stack, restarted).map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
    expect(condition(await getOffer(stack.admin, "llm", "qwen"), "Ready")?.status).toBe("True");
  });

  it("idle: a controller with nothing to do makes no writes", async () => {
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    expect(controllerWrites(stack, since)).toEqual([]);
  });

  it("API server restart: the verifier serves from its table during the outage, and both resume watching", async () => {
    await stack.controlPlane.stopApiServer();
    expect(await askedPrice(stack, "/services/qwen/x")).toBe("2000");
    const buyer = privateKeyToAccount(stack.chain.accounts[5]!.privateKey);
    expect((await wrapV1(fetch, buyer, 1_000_000n)(`${stack.traefik.url}/services/qwen/v1/chat`)).status).toBe(200);
    // Longer than the lease's renew deadline: the controller must stop, and lead again on its own.
    await new Promise((r) => setTimeout(r, 11_000));
    await stack.controlPlane.startApiServer();

    await applyOffer(stack.admin, "llm", "qwen", spec("0.003"));
    await waitFor("verifier resumed: new price served", async () => (await askedPrice(stack, "/services/qwen/x")) === "3000", 60_000);
    await applyOffer(stack.admin, "llm", "after-outage", spec("0.004"));
    await waitReady(stack.admin, "llm", "after-outage", 60_000);
    expect(controller.process.child.exitCode).toBeNull();
    expect(controller.process.output()).toContain("competing for it again");
  });

  it("leader election: of two controllers one writes; when it is killed the other takes over within the lease duration", async () => {
    const standby = await startController("node", "controller-b");
    await new Promise((r) => setTimeout(r, 2000));
    const since = Date.now();
    await applyOffer(stack.admin, "llm", "elected", spec());
    await waitReady(stack.admin, "llm", "elected");
    const writers = new Set(controllerWrites(stack, since).map((e) => e.userAgent?.split(" ")[0]));
    expect([...writers]).toEqual(["x402-operator/controller-a2"]);

    controller.process.child.kill("SIGKILL");
    const killed = Date.now();
    await waitFor("standby leads", async () => standby.process.output().includes("became leader"), 30_000);
    const takeover = Date.now() - killed;
    // The standby last saw a renewal up to one retry period (2 s, +20% jitter) after it
    // happened, counts the 15 s lease from then, and notices expiry at its next retry.
    expect(takeover).toBeLessThanOrEqual(15_000 + 2 * 2_400 + 500);
    await applyOffer(stack.admin, "llm", "after-takeover", spec());
    await waitReady(stack.admin, "llm", "after-takeover", 10_000);
    controller = standby;
    console.log(`standby took over ${takeover} ms after the leader was killed`);
  });

  it("manifests: everything in manifests/ passes a server-side dry-run apply", async () => {
    const kustomization = readManifests(path.join(PROJECT_ROOT, "manifests", "kustomization.yaml"))[0] as unknown as { resources: string[] };
    const objects = readManifests(...kustomization.resources.map((r) => path.join(PROJECT_ROOT, "manifests", r)));
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(["CustomResourceDefinition", "ClusterRole", "Deployment", "Service"]));
    await apply(stack.admin, objects, { dryRun: true });
  });
});

describe("on Deno", () => {
  beforeAll(async () => {
    for (const c of controllers) await c.process.stop();
    await verifier.process.stop();
    verifier = await stack.startVerifier("deno");
    controller = await startController("deno", "controller-deno");
    await waitFor("deno controller leads", async () => controller.process.output().includes("became leader"), 30_000);
  }, 120_000);

  it("reconcile on Deno", async () => {
    await applyOffer(stack.admin, "llm", "deno-offer", spec("0.001"));
    expect(await waitReady(stack.admin, "llm", "deno-offer", 5000)).toBeLessThan(1000);
    // Traefik's pickup of the new HTTPRoute, not ours (Ready above is): once, in CI, it took over 5 s.
    await waitFor("route served by Traefik", async () => (await askedPrice(stack, "/services/deno-offer/x")) === "1000", 15_000);
  });

  it("paid flow on Deno", async () => {
    const buyer = privateKeyToAccount(stack.chain.accounts[6]!.privateKey);
    const before = await usdcBalance(stack, buyer.address);
    const response = await wrapV1(fetch, buyer, 1_000_000n)(`${stack.traefik.url}/services/deno-offer/v1/chat`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ path: "/v1/chat", authorization: `Bearer ${UPSTREAM.secretValue}` });
    expect(await usdcBalance(stack, buyer.address)).toBe(before - 1000n);
  });

  it("data path on Deno: the verifier on Deno serves the data path, settles after the upstream answered and hands the receipt", async () => {
    const buyer = privateKeyToAccount(stack.chain.accounts[6]!.privateKey);
    const before = await usdcBalance(stack, buyer.address);
    const response = await wrapV1(fetch, buyer, 1_000_000n)(`${stack.traefik.url}/services/direct/v1/chat`);
    expect(response.status).toBe(200);
    expect(decodeXPaymentResponse(response.headers.get("x-payment-response")!)).toMatchObject({ success: true });
    expect(await usdcBalance(stack, buyer.address)).toBe(before - 1000n);
    const failed = await fetch(`${stack.traefik.url}/services/direct/fail`, { headers: { "X-PAYMENT": await createPaymentHeader(buyer, 1, (await viaGateway(stack, "/services/direct/fail")).json().accepts[0]) } });
    expect(failed.status).toBe(500);
    expect(await usdcBalance(stack, buyer.address)).toBe(before - 1000n);
  });

  it("cascade deletion on Deno", async () => {
    await stack.admin.request("DELETE", offerPath("llm", "deno-offer"));
    await waitFor("children gone", async () => (await Promise.all([child("Middleware", "llm", "x402-deno-offer"), child("PaymentRoute", "llm", "deno-offer-payment"), child("HTTPRoute", "llm", "so-deno-offer")])).every((o) => o === undefined), 15_000);
    await waitFor("route gone from Traefik", async () => (await viaGateway(stack, "/services/deno-offer/x")).status === 404, 10_000);
  });

  it("controller loss on Deno", async () => {
    controller.process.child.kill("SIGKILL");
    await controller.process.exited;
    expect(await askedPrice(stack, "/services/qwen/x")).toBe("3000");
    const buyer = privateKeyToAccount(stack.chain.accounts[7]!.privateKey);
    expect((await wrapV1(fetch, buyer, 1_000_000n)(`${stack.traefik.url}/services/qwen/v1/chat`)).status).toBe(200);
  });
});
