// The registrar: for each ServiceOffer whose registration is enabled (or that still has an
// agent on chain), one step of core/registration-plan.ts per round against the network's
// ERC-8004 Identity Registry, and the status it leads to (agentId, registrationTxHash, the
// bookkeeping in status.registration, the Registered condition), written under a field
// manager of its own. One offer at a time: the rounds share one account's nonces. A round
// that changed something looks again at once; one that waits for the chain, in a second.
import * as v from "valibot";
import type { Clock } from "../adapters/clock.ts";
import type { Logger } from "../adapters/log.ts";
import { agentRegistry, agentUriOf, dataUriOf, registrationDocument, tombstoneOf } from "../core/agent-registration.ts";
import { type ConditionState, kubeTime, nextConditions } from "../core/conditions.ts";
import type { OperatorConfig } from "../core/config.ts";
import { SERVICE_OFFER } from "../core/kinds.ts";
import type { KubeObject } from "../core/kube.ts";
import type { Network } from "../core/networks.ts";
import { readStatus } from "../core/offer-status.ts";
import { sameAddress } from "../core/pay-to.ts";
import { REGISTERED } from "../core/registered-condition.ts";
import { planRegistration, type RegistrationBook, type RegistrationStep } from "../core/registration-plan.ts";
import { OFFER_API_VERSION, OFFER_KIND, ServiceOfferEnvelopeSchema, type ServiceOfferStatus } from "../core/service-offer.ts";
import { validateOffer } from "../core/validate-offer.ts";
import type { KubeClient } from "../kube/client.ts";
import { startInformer } from "../kube/informer.ts";
import { resourcePath } from "../kube/resources.ts";
import { startWorkQueue } from "../kube/work-queue.ts";
import { FIELD_MANAGER } from "./writes.ts";
import { type IdentityRegistry, isRegistryError } from "./identity-registry.ts";
import { bookOf } from "./registration-book.ts";

export const REGISTRAR_FIELD_MANAGER = `${FIELD_MANAGER}-registrar`;

export type RegistrarOptions = {
  client: KubeClient;
  config: OperatorConfig;
  log: Logger;
  clock: Clock;
  /** The registry of a network, with the registration key if there is one; undefined: no RPC for it. */
  registryFor(network: Network): IdentityRegistry | undefined;
  /** Counts each transaction sent, by kind (register, uri, metadata). */
  sent?(kind: string): void;
};

export type Registrar = { enqueue(key: string): void; stop(): Promise<void> };

type Outcome = { registered: ConditionState; agentId?: string; transaction?: string; book: RegistrationBook; again?: number; reserving?: boolean };

export function startRegistrar(options: RegistrarOptions): Registrar {
  const { client, config, log, clock } = options;
  const queue = startWorkQueue({ clock, concurrency: 1 }, (key) => round(key), (key, error, retryInMs) =>
    log.warn("registration round failed; retrying", { offer: key, error: String((error as Error).message ?? error), retryInMs: Math.round(retryInMs) })
  );
  const offers = startInformer({ client, resource: SERVICE_OFFER, log, onChange: (o) => queue.add(`${o.metadata.namespace}/${o.metadata.name}`) });

  /** The next nonce for `account`: the node's count, past every nonce reserved in any offer's status. */
  const allocate = (account: string, counted: number) => {
    const reserved = offers.list().flatMap((o) => {
      const pending = bookOf(o.status).book?.pending;
      return pending && sameAddress(pending.account, account) ? [pending.nonce + 1] : [];
    });
    return Math.max(counted, ...reserved);
  };

  async function round(key: string): Promise<{ requeueAfterMs?: number }> {
    if (!offers.synced) return { requeueAfterMs: 100 };
    const [namespace, name] = key.split("/") as [string, string];
    const raw = offers.get(namespace, name);
    if (!raw) return {};
    const offer = v.parse(ServiceOfferEnvelopeSchema, raw);
    const status = readStatus(offer.status);
    const read = bookOf(offer.status);
    const deleting = offer.metadata.deletionTimestamp !== undefined;
    const validation = validateOffer(name, offer.spec, config, namespace);
    if (!validation.ok) return {};
    const { spec, network, path } = validation.offer;
    const enabled = spec.registration?.enabled === true;
    if (!read.book) {
      // Bookkeeping we cannot read (someone wrote it by hand): acting on a guess could register twice.
      if (!enabled) return {};
      return finish(raw, status, { registered: { status: "False", reason: "StatusUnreadable", message: `status.registration or status.agentId cannot be read (${read.problem}); fix or remove it` }, ...read.kept, book: {}, again: 60_000 }, true);
    }
    const book = read.book;
    const agentId = read.agentId;
    if (!enabled && agentId === undefined && !book.pending) return {};
    const registry = options.registryFor(network);
    const id = { namespace, name };
    const current = { agentId, transaction: read.transaction, book };
    if (!registry) {
      const message = `no RPC for ${network.name}: give the controller --registration-rpc ${network.name}=URL`;
      return finish(raw, status, { ...current, registered: { status: "False", reason: "NoChainAccess", message }, again: 60_000 });
    }
    // Deleted: the document is written into the chain itself, as the host will no longer serve it.
    const document = registrationDocument(id, { ...spec, registration: { ...spec.registration, enabled: true } }, path, network, config.publicUrl, agentId)!;
    const registerUri = agentUriOf(config.publicUrl, id);
    const uri = deleting ? dataUriOf(tombstoneOf(document)) : registerUri;
    // agentWallet is the registry's own (set only with the wallet's signature): in the document, not on chain.
    const metadata = Object.fromEntries(Object.entries(document.metadata ?? {}).filter(([key]) => key !== "agentWallet"));
    try {
      const chain = await registry.view({ agentId, book, uri: registerUri, metadataKeys: Object.keys(metadata) });
      if (chain.nextNonce !== undefined && registry.signer) chain.nextNonce = allocate(registry.signer, chain.nextNonce);
      const step = planRegistration({ view: { agentId, book }, chain, signer: registry.signer, uri, registerUri, metadata, deleting });
      return finish(raw, status, await carryOut(step, registry, current, network));
    } catch (error) {
      if (!isRegistryError(error)) throw error;
      log.warn("registry unavailable", { offer: key, registry: registry.address, kind: error.kind, message: error.message });
      const registered: ConditionState = deleting && agentId !== undefined
        ? { status: "False", reason: "TombstoneFailed", message: `marking agent ${agentId} inactive failed: ${error.message}; the offer is kept until it succeeds` }
        : agentId !== undefined
        ? { status: "True", reason: "Registered", message: registeredMessage(agentId, network) }
        : { status: error.kind === "refused" ? "False" : "Unknown", reason: error.kind === "refused" ? "RegistrationFailed" : "ChainUnreachable", message: error.message };
      return finish(raw, status, { ...current, registered, again: 10_000 });
    }
  }

  async function carryOut(step: RegistrationStep, registry: IdentityRegistry, current: Omit<Outcome, "registered">, network: Network): Promise<Outcome> {
    const registered = (agentId: string): ConditionState => ({ status: "True", reason: "Registered", message: registeredMessage(agentId, network) });
    const { book } = current;
    switch (step.kind) {
      case "record":
        return { registered: { ...registered(step.agentId), reason: book.pending ? "Registered" : "AlreadyRegistered" }, agentId: step.agentId, transaction: step.transaction, book: { uri: step.uri }, again: 0 };
      case "reserve": {
        const signed = await registry.sign(step.uri, step.nonce);
        const pending = { account: step.account, nonce: step.nonce, ...signed };
        return { ...current, registered: registering(`register(${step.uri}) signed at nonce ${step.nonce} from ${step.account}: ${signed.transaction}`), book: { uri: step.uri, pending }, again: 0, reserving: true };
      }
      case "send":
        await registry.broadcast(step.raw);
        options.sent?.("register");
        return { ...current, registered: registering(`register sent at nonce ${step.nonce} (${book.pending?.transaction}); waiting for it to be mined`), again: 1000 };
      case "release":
        return { ...current, registered: registering(`nonce ${book.pending?.nonce} was spent without registering; signing again`), book: { uri: book.uri }, again: 0 };
      case "update-uri":
        await registry.setAgentUri(step.agentId, step.uri, allocate(registry.signer!, await registry.pendingNonce()));
        options.sent?.("uri");
        return { ...current, registered: registered(step.agentId), again: 2000 };
      case "update-metadata":
        await registry.setMetadata(step.agentId, step.key, step.value, allocate(registry.signer!, await registry.pendingNonce()));
        options.sent?.("metadata");
        return { ...current, registered: registered(step.agentId), again: 2000 };
      case "await-external":
        return { ...current, registered: { status: "False", reason: "AwaitingExternalRegistration", message: `no registration key: register ${step.uri} on ${registry.address} and it is recorded once found` }, again: 5000 };
      case "await-other-key":
        return { ...current, registered: registering(`transaction ${step.pending.transaction} at nonce ${step.pending.nonce} from ${step.pending.account} is not this controller's to send (another key, or bytes it did not sign); it may never have been sent: waiting until it is mined or its nonce is spent. To give it up, remove status.registration.pending`), again: 10_000 };
      case "mark-tombstoned":
        return { ...current, registered: { status: "False", reason: "Tombstoned", message: `agent ${current.agentId} marked inactive` }, book: { ...book, tombstoned: true } };
      case "idle":
        return { ...current, registered: current.agentId !== undefined ? registered(current.agentId) : registering("waiting for the chain"), again: current.agentId !== undefined ? undefined : 1000 };
    }
  }

  /**
   * Writes what changed (nothing, when nothing did), only over the offer as it was read (a
   * conflict is retried by the queue); a reservation must then read back, or the CRD is too old.
   */
  async function finish(raw: KubeObject, status: ServiceOfferStatus, outcome: Outcome, keepBook = false): Promise<{ requeueAfterMs?: number }> {
    const conditions = nextConditions(status.conditions, [[REGISTERED as never, outcome.registered]], raw.metadata.generation, kubeTime(new Date(clock.now())));
    const condition = conditions.find((c) => c.type === REGISTERED)!;
    const before = status.conditions.find((c) => c.type === REGISTERED);
    const conditionChanged = !before || before.status !== condition.status || before.reason !== condition.reason || before.message !== condition.message;
    const was = bookOf(raw.status);
    const bookChanged = JSON.stringify([was.agentId, was.transaction, was.book ?? {}]) !== JSON.stringify([outcome.agentId, outcome.transaction, outcome.book]);
    const changed = conditionChanged || (!keepBook && bookChanged);
    if (!changed) return { requeueAfterMs: outcome.again ?? 300_000 };
    const fields = keepBook ? {} : { agentId: outcome.agentId, registrationTxHash: outcome.transaction, registration: outcome.book };
    const body = {
      apiVersion: OFFER_API_VERSION, kind: OFFER_KIND,
      metadata: { name: raw.metadata.name, namespace: raw.metadata.namespace, resourceVersion: raw.metadata.resourceVersion },
      status: { ...fields, conditions: [condition] },
    };
    const written = await client.request<KubeObject>("PATCH", resourcePath(SERVICE_OFFER, raw.metadata.namespace, raw.metadata.name, "status"), {
      body: JSON.parse(JSON.stringify(body)), contentType: "application/apply-patch+yaml", query: { fieldManager: REGISTRAR_FIELD_MANAGER, force: true },
    });
    offers.remember(written);
    const offer = `${raw.metadata.namespace}/${raw.metadata.name}`;
    if (outcome.reserving && bookOf(written.status).book?.pending?.transaction !== outcome.book.pending?.transaction) {
      log.error("the API server dropped status.registration: the ServiceOffer CRD is older than this controller; apply manifests/crds", { offer });
      return { requeueAfterMs: 60_000 };
    }
    if (before?.status !== condition.status) log.info("registration", { offer, status: condition.status, reason: condition.reason, agentId: outcome.agentId, transaction: outcome.transaction });
    return { requeueAfterMs: outcome.again ?? 300_000 };
  }

  return {
    enqueue: (key) => queue.add(key),
    async stop() {
      await queue.shutdown();
      await offers.stop();
    },
  };
}

function registering(message: string): ConditionState {
  return { status: "Unknown", reason: "Registering", message };
}

function registeredMessage(agentId: string, network: Network): string {
  return `agent ${agentId} on ${agentRegistry(network) ?? network.name}`;
}

