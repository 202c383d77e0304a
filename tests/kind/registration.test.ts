// ERC-8004 registration on the real-cluster stack: a real API server, the controller on Node
// and on Deno, the local chain with our Identity Registry at the Base Sepolia address. An
// offer with registration enabled is Ready only once its Registered event is on chain; a
// registration sent by a controller that died before recording it is found, not repeated;
// idle costs no transaction and no write; deletion writes the tombstone before the offer goes;
// without a key, a registration made by someone else is recorded.
import fs from "node:fs";
import nodeHttp from "node:http";
import path from "node:path";
import { createPublicClient, createWalletClient, encodeFunctionData, http, keccak256, parseAbiItem } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { x402Client, x402HTTPClient } from "@x402/core/client";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { type DiscoveryResourcesResponse, extractDiscoveryInfo } from "@x402/extensions";
import { agentUriOf } from "../../core/agent-registration.ts";
import { IDENTITY_REGISTRY_ABI } from "../../controller/identity-registry.ts";
import { REGISTRAR_FIELD_MANAGER } from "../../controller/registrar.ts";
import { apply, readManifests } from "../../dev/apply.ts";
import { applyOffer, condition, controllerWrites, getOffer, offerPath, waitReady } from "../../dev/cluster-helpers.ts";
import { PROJECT_ROOT, waitFor } from "../../dev/process.ts";
import { type Component, type Stack, startStack, UPSTREAM } from "../../dev/stack.ts";

/** GET through Traefik as a buyer reaching the seller's public host would. */
function getVia(path: string, host: string): Promise<{ status: number; json(): any }> {
  const gateway = new URL(stack.traefik.url);
  return new Promise((resolve, reject) => {
    const request = nodeHttp.get({ host: gateway.hostname, port: gateway.port, path, headers: { host } }, (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, json: () => JSON.parse(text) }));
    });
    request.on("error", reject);
  });
}
const REGISTERED = parseAbiItem("event Registered(uint256 indexed agentId, string agentURI, address indexed owner)");
const PUBLIC_URL = "http://seller.test:8080";
let stack: Stack;
let keyFile: string;
let registrar: ReturnType<typeof privateKeyToAccount>;
const running: Component[] = [];

type RegisteredOffer = { metadata: { resourceVersion: string }; status?: { agentId?: string; registrationTxHash?: string; registration?: { uri?: string; tombstoned?: boolean }; conditions?: { type: string; status: string; reason: string }[] } };
const offerOf = async (name: string) => (await getOffer(stack.admin, "shop", name)) as unknown as RegisteredOffer | undefined;
const reader = () => createPublicClient({ chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) });
const registrations = async (uri: string) => (await reader().getLogs({ address: stack.chain.identityRegistry.address, event: REGISTERED, fromBlock: 0n })).filter((l) => l.args.agentURI === uri);
const tokenUri = (agentId: string) => reader().readContract({ address: stack.chain.identityRegistry.address, abi: IDENTITY_REGISTRY_ABI, functionName: "tokenURI", args: [BigInt(agentId)] });
const nonceOf = (address: `0x${string}`) => reader().getTransactionCount({ address });

/** A controller with the registration flags, once it leads (the last one's lease may have to run out first). */
async function startController(runtime: "node" | "deno", identity: string, withKey = true) {
  const extra = ["--public-url", PUBLIC_URL, "--registration-rpc", `base-sepolia=${stack.chain.rpcUrl}`, ...(withKey ? ["--registration-key-file", keyFile] : [])];
  const controller = await stack.startController(runtime, identity, extra);
  running.push(controller);
  await waitFor(`${identity} leading`, async () => /^x402_controller_leader 1$/m.test(await (await fetch(`${controller.url}/metrics`)).text()), 30_000);
  return controller;
}
/** Stopped as Kubernetes stops a Pod (SIGTERM): the lease is released, and the next controller leads at once. */
async function stopControllers() {
  for (const c of running.splice(0)) await c.process.stop();
}
const offer = (extra: object = {}) => ({
  upstream: { service: UPSTREAM.service, namespace: UPSTREAM.namespace, port: UPSTREAM.port },
  payment: { network: "base-sepolia", payTo: stack.payTo, price: { perRequest: "0.001" } },
  registration: { enabled: true, name: "Test agent", metadata: { model: "qwen3" } },
  ...extra,
});

beforeAll(async () => {
  stack = await startStack();
  await apply(stack.admin, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } }]);
  await stack.startVerifier("node");
  await apply(stack.admin, readManifests(path.join(PROJECT_ROOT, "manifests", "verifier", "well-known-route.yaml")));
  registrar = privateKeyToAccount(stack.chain.accounts[7]!.privateKey);
  keyFile = path.join(stack.dir, "registration.key");
  fs.writeFileSync(keyFile, stack.chain.accounts[7]!.privateKey, { mode: 0o600 });
}, 600_000);
afterAll(async () => {
  await stopControllers();
  await stack?.stop();
});
afterEach(async (context) => {
  if (context.task.result?.state === "fail") for (const c of running) console.log(`--- controller (last lines)\n${c.process.output().split("\n").slice(-25).join("\n")}`);
  await stopControllers();
});

describe.each(["node", "deno"] as const)("ERC-8004 registration, controller on %s", (runtime) => {
  const name = `agent-${runtime}`;
  const uri = () => agentUriOf(PUBLIC_URL, { namespace: "shop", name });

  it("an offer with registration enabled becomes Ready only once its Registered event is on chain, with agentId and transaction in its status; idle, it costs nothing", async () => {
    await startController(runtime, `controller-${runtime}`);
    const sentBefore = await nonceOf(registrar.address);
    const started = Date.now();
    await applyOffer(stack.admin, "shop", name, offer());
    let readyAt = 0;
    let readyUnregistered = false;
    await waitFor("Ready", async () => {
      const ready = condition(await offerOf(name) as never, "Ready")?.status === "True";
      // Never Ready while the registry has no Registered event for it (read after the status).
      if (ready && (await registrations(uri())).length === 0) readyUnregistered = true;
      if (ready) readyAt = Date.now();
      return ready;
    }, 30_000);
    expect(readyUnregistered).toBe(false);
    const o = (await offerOf(name))!;
    const events = await registrations(uri());
    expect(events).toHaveLength(1);
    expect(o.status).toMatchObject({ agentId: String(events[0]!.args.agentId), registrationTxHash: events[0]!.transactionHash, registration: { uri: uri() } });
    expect(events[0]!.args.owner).toBe(registrar.address);
    expect(condition(o as never, "Registered")).toMatchObject({ status: "True", reason: "Registered" });
    expect(await tokenUri(o.status!.agentId!)).toBe(uri());
    // One register and one metadata write (model=qwen3), nothing else.
    expect(await nonceOf(registrar.address) - sentBefore).toBe(2);
    console.log(JSON.stringify({ runtime, msToReady: readyAt - started, transactions: (await nonceOf(registrar.address)) - sentBefore }));

    // The agentURI on chain resolves, through Traefik, to the offer's document naming that very agent;
    // the host's document vouches for it (the chain says its URI is this host's).
    const documentUrl = new URL(uri());
    await waitFor("the document names the agent", async () => {
      const served = await getVia(`${documentUrl.pathname}${documentUrl.search}`, documentUrl.host);
      return served.status === 200 && served.json().registrations?.[0]?.agentId === Number(o.status!.agentId);
    }, 10_000);
    const served = (await getVia(`${documentUrl.pathname}${documentUrl.search}`, documentUrl.host)).json();
    expect(served).toMatchObject({ name: "Test agent", active: true, x402Support: true, metadata: { model: "qwen3" }, registrations: [{ agentRegistry: `eip155:84532:${stack.chain.identityRegistry.address}` }] });
    expect(served.services[0]).toEqual({ name: "web", endpoint: `${PUBLIC_URL}/services/${name}` });
    const host = (await getVia(documentUrl.pathname, documentUrl.host)).json();
    expect(host.registrations).toContainEqual({ agentId: Number(o.status!.agentId), agentRegistry: `eip155:84532:${stack.chain.identityRegistry.address}` });
    // Reached under another name, the host vouches for no agent.
    expect((await getVia(documentUrl.pathname, "elsewhere.test")).json().registrations).toEqual([]);

    // Idle: no transaction and no write of the offer's status for several rounds.
    const since = Date.now();
    const nonce = await nonceOf(registrar.address);
    await new Promise((r) => setTimeout(r, 4000));
    expect(await nonceOf(registrar.address)).toBe(nonce);
    expect(controllerWrites(stack, since).filter((e) => e.objectRef?.resource === "serviceoffers")).toEqual([]);
  });

  it("a changed metadata value costs exactly one transaction, and nothing else is rewritten", async () => {
    await startController(runtime, `controller-${runtime}`);
    const agentId = (await offerOf(name))!.status!.agentId!;
    const nonce = await nonceOf(registrar.address);
    await applyOffer(stack.admin, "shop", name, offer({ registration: { enabled: true, name: "Test agent", metadata: { model: "qwen3.5" } } }));
    const metadataOf = async () => Buffer.from((await reader().readContract({ address: stack.chain.identityRegistry.address, abi: IDENTITY_REGISTRY_ABI, functionName: "getMetadata", args: [BigInt(agentId), "model"] })).slice(2), "hex").toString();
    await waitFor("the new metadata on chain", async () => (await metadataOf()) === "qwen3.5", 15_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await nonceOf(registrar.address)).toBe(nonce + 1);
    expect(await tokenUri(agentId)).toBe(uri());
    expect((await offerOf(name))!.status!.agentId).toBe(agentId);
  });

  it("deleted: the agent is marked inactive on chain (its tombstone) before the offer goes", async () => {
    await startController(runtime, `controller-${runtime}`);
    const agentId = (await offerOf(name))!.status!.agentId!;
    await stack.admin.request("DELETE", offerPath("shop", name));
    await waitFor("the offer gone", async () => (await offerOf(name)) === undefined, 30_000);
    const tombstone = await tokenUri(agentId);
    expect(tombstone.startsWith("data:application/json;base64,")).toBe(true);
    const document = JSON.parse(Buffer.from(tombstone.split(",")[1]!, "base64").toString());
    expect(document).toMatchObject({ active: false, x402Support: false, registrations: [{ agentId: Number(agentId) }] });
    expect(await registrations(uri())).toHaveLength(1);
  });

  it.each([["sent", true], ["signed but never sent", false]] as const)("a register %s by a controller killed before recording its outcome is resolved after restart: one registration", async (_, broadcast) => {
    const name = `agent-crash-${broadcast ? "sent" : "unsent"}-${runtime}`;
    const uri = agentUriOf(PUBLIC_URL, { namespace: "shop", name });
    await applyOffer(stack.admin, "shop", name, offer());
    await waitFor("the offer stored", async () => (await offerOf(name)) !== undefined, 5000);
    // What the dead controller did: signed register(uri) at a nonce, recorded it in the status, and (or not) broadcast it.
    const wallet = createWalletClient({ account: registrar, chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) });
    const nonce = await nonceOf(registrar.address);
    const request = await wallet.prepareTransactionRequest({ to: stack.chain.identityRegistry.address, data: encodeFunctionData({ abi: IDENTITY_REGISTRY_ABI, functionName: "register", args: [uri] }), nonce });
    const raw = await wallet.signTransaction(request);
    await stack.admin.request("PATCH", `${offerPath("shop", name)}/status`, {
      body: { apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name, namespace: "shop" }, status: { registration: { uri, pending: { account: registrar.address, nonce, transaction: keccak256(raw), raw } } } },
      contentType: "application/apply-patch+yaml", query: { fieldManager: REGISTRAR_FIELD_MANAGER, force: true },
    });
    if (broadcast) await reader().waitForTransactionReceipt({ hash: await reader().sendRawTransaction({ serializedTransaction: raw }) });

    await startController(runtime, `controller-restarted-${runtime}`);
    await waitReady(stack.admin, "shop", name, 45_000);
    const events = await registrations(uri);
    expect(events).toHaveLength(1);
    expect(events[0]!.transactionHash).toBe(keccak256(raw));
    expect((await offerOf(name))!.status).toMatchObject({ agentId: String(events[0]!.args.agentId), registrationTxHash: keccak256(raw) });
  }, 60_000);

  it("a reservation written by hand (bytes another key signed) is never broadcast; removed, as its condition says, the offer registers once", async () => {
    const name = `agent-forged-${runtime}`;
    const uri = agentUriOf(PUBLIC_URL, { namespace: "shop", name });
    await startController(runtime, `controller-forged-${runtime}`);
    const stranger = createWalletClient({ account: privateKeyToAccount(stack.chain.accounts[5]!.privateKey), chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) });
    const nonce = await nonceOf(registrar.address);
    const raw = await stranger.signTransaction(await stranger.prepareTransactionRequest({ to: stack.chain.identityRegistry.address, data: encodeFunctionData({ abi: IDENTITY_REGISTRY_ABI, functionName: "register", args: [uri] }), nonce: 0 }));
    await applyOffer(stack.admin, "shop", name, offer());
    const patchStatus = (registration: object) => stack.admin.request("PATCH", `${offerPath("shop", name)}/status`, {
      body: { apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name, namespace: "shop" }, status: { registration } },
      contentType: "application/apply-patch+yaml", query: { fieldManager: REGISTRAR_FIELD_MANAGER, force: true },
    });
    await patchStatus({ uri, pending: { account: registrar.address, nonce, transaction: keccak256(raw), raw } });
    await waitFor("the forged reservation refused", async () => /not this controller's to send/.test(condition(await offerOf(name) as never, "Registered")?.message ?? ""), 20_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await registrations(uri)).toHaveLength(0);
    expect(await nonceOf(stack.chain.accounts[5]!.address as `0x${string}`)).toBe(0);
    await patchStatus({ uri });
    await waitReady(stack.admin, "shop", name, 30_000);
    expect(await registrations(uri)).toHaveLength(1);
  }, 60_000);

  it("a reservation copied by hand from another registration (mined, signed by our key) is never taken for this offer's: it registers its own URI", async () => {
    const name = `agent-copied-${runtime}`;
    const uri = agentUriOf(PUBLIC_URL, { namespace: "shop", name });
    const wallet = createWalletClient({ account: registrar, chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) });
    const nonce = await nonceOf(registrar.address);
    const raw = await wallet.signTransaction(await wallet.prepareTransactionRequest({ to: stack.chain.identityRegistry.address, data: encodeFunctionData({ abi: IDENTITY_REGISTRY_ABI, functionName: "register", args: [`${PUBLIC_URL}/someone-else`] }), nonce }));
    await reader().waitForTransactionReceipt({ hash: await reader().sendRawTransaction({ serializedTransaction: raw }) });
    await applyOffer(stack.admin, "shop", name, offer());
    await waitFor("the offer stored", async () => (await offerOf(name)) !== undefined, 5000);
    await stack.admin.request("PATCH", `${offerPath("shop", name)}/status`, {
      body: { apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", metadata: { name, namespace: "shop" }, status: { registration: { uri, pending: { account: registrar.address, nonce, transaction: keccak256(raw), raw } } } },
      contentType: "application/apply-patch+yaml", query: { fieldManager: REGISTRAR_FIELD_MANAGER, force: true },
    });
    await startController(runtime, `controller-copied-${runtime}`);
    await waitReady(stack.admin, "shop", name, 30_000);
    const agentId = (await offerOf(name))!.status!.agentId!;
    expect(await tokenUri(agentId)).toBe(uri);
    expect(await registrations(uri)).toHaveLength(1);
  }, 60_000);

  it("without a key: AwaitingExternalRegistration keeps the offer from Ready until someone registers its URI, then that registration is recorded", async () => {
    const name = `agent-external-${runtime}`;
    const uri = agentUriOf(PUBLIC_URL, { namespace: "shop", name });
    await startController(runtime, `controller-keyless-${runtime}`, false);
    await applyOffer(stack.admin, "shop", name, offer());
    // The registrar's condition, then the controller's Ready from it (two writers: Ready follows within a round).
    let readyMeanwhile = false;
    await waitFor("Ready=False AwaitingExternalRegistration", async () => {
      const ready = condition(await offerOf(name) as never, "Ready");
      if (ready?.status === "True") readyMeanwhile = true;
      return ready?.status === "False" && ready.reason === "AwaitingExternalRegistration";
    }, 30_000);
    expect(readyMeanwhile).toBe(false);
    expect(condition(await offerOf(name) as never, "Registered")).toMatchObject({ status: "False", reason: "AwaitingExternalRegistration" });
    const owner = privateKeyToAccount(stack.chain.accounts[6]!.privateKey);
    const wallet = createWalletClient({ account: owner, chain: stack.chain.viemChain, transport: http(stack.chain.rpcUrl) });
    await reader().waitForTransactionReceipt({ hash: await wallet.writeContract({ address: stack.chain.identityRegistry.address, abi: IDENTITY_REGISTRY_ABI, functionName: "register", args: [uri] }) });
    await waitReady(stack.admin, "shop", name, 45_000);
    const events = await registrations(uri);
    expect(events).toHaveLength(1);
    expect((await offerOf(name))!.status!.agentId).toBe(String(events[0]!.args.agentId));
  }, 60_000);

  it("an opted-in offer's 402 through Traefik carries it; the official client pays with it echoed, and the official extractor catalogues the call from that payment", async () => {
    await startController(runtime, `controller-bazaar-${runtime}`);
    const name = `bazaar-${runtime}`;
    await applyOffer(stack.admin, "shop", name, {
      ...offer({ registration: undefined }), type: "inference", model: { name: "qwen3:0.6b", runtime: "ollama" }, discovery: { bazaar: true, output: { choices: [] } },
    });
    await waitReady(stack.admin, "shop", name, 20_000);
    const url = `${stack.traefik.url}/services/${name}/v1/chat/completions`;
    await waitFor("the offer served by Traefik", async () => (await fetch(url, { method: "POST" })).status === 402, 15_000);
    const unpaid = await fetch(url, { method: "POST" });
    expect(unpaid.status).toBe(402);
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: privateKeyToAccount(stack.chain.accounts[4]!.privateKey) });
    const http402 = new x402HTTPClient(client);
    const required = http402.getPaymentRequiredResponse((h) => unpaid.headers.get(h), await unpaid.json());
    expect(required.extensions?.bazaar).toMatchObject({ info: { input: { type: "http", method: "POST", bodyType: "json", body: { model: "qwen3:0.6b" } }, output: { type: "json", example: { choices: [] } } } });
    const payload = await client.createPaymentPayload(required);
    const discovered = extractDiscoveryInfo(payload as never, payload.accepted as never);
    expect(discovered).toMatchObject({ resourceUrl: url, method: "POST" });
    // The payment with the extension echoed is an ordinary payment: served.
    const paid = await fetch(url, { method: "POST", headers: http402.encodePaymentSignatureHeader(payload) });
    expect(paid.status).toBe(200);
    // /.well-known/x402 lists the same extension.
    const listing = await (await fetch(`${stack.traefik.url}/.well-known/x402`)).json() as DiscoveryResourcesResponse;
    expect(listing.items.find((item) => item.resource.endsWith(`/services/${name}/`))?.extensions).toEqual({ bazaar: required.extensions!.bazaar });
  }, 60_000);
});
