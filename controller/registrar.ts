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

type Outcome = { registered: ConditionState; agentId?: string; transaction?: string; book: RegistrationBook; again?: number };

export function startRegistrar(options: RegistrarOptions): Registrar {
  const { client, config, log, clock } = options;
  const queue = startWorkQueue({ clock, concurrency: 1 }, (key) => round(key), (key, error, retryInMs) =>
    log.warn("registration round failed; retrying", { offer: key, error: String((error as Error).message ?? error), retryInMs: Math.round(retryInMs) })
  );
  const offers = startInformer({ client, resource: SERVICE_OFFER, log, onChange: (o) => queue.add(`${o.metadata.namespace}/${o.metadata.name}`) });

  async function round(key: string): Promise<{ requeueAfterMs?: number }> {
    if (!offers.synced) return { requeueAfterMs: 100 };
    const [namespace, name] = key.split("/") as [string, string];
    const raw = offers.get(namespace, name);
    if (!raw) return {};
    const offer = v.parse(ServiceOfferEnvelopeSchema, raw);
    const status = readStatus(offer.status);
    const book: RegistrationBook = status.registration ?? {};
    const deleting = offer.metadata.deletionTimestamp !== undefined;
    const validation = validateOffer(name, offer.spec, config, namespace);
    if (!validation.ok) return {};
    const { spec, network, path } = validation.offer;
    const enabled = spec.registration?.enabled === true;
    if (!enabled && status.agentId === undefined && !book.pending) return {};
    const registry = options.registryFor(network);
    const id = { namespace, name };
    if (!registry) {
      const message = `no RPC for ${network.name}: give the controller --registration-rpc ${network.name}=URL`;
      return finish(raw, status, { registered: { status: "False", reason: "NoChainAccess", message }, agentId: status.agentId, transaction: status.registrationTxHash, book, again: 60_000 });
    }
    // Deleted: the document is written into the chain itself, as the host will no longer serve it.
    const document = registrationDocument(id, { ...spec, registration: { ...spec.registration, enabled: true } }, path, network, config.publicUrl, status.agentId)!;
    const uri = deleting ? dataUriOf(tombstoneOf(document)) : agentUriOf(config.publicUrl, id);
    const metadata = Object.fromEntries(Object.entries(document.metadata ?? {}));
    try {
      const chain = await registry.view({ agentId: status.agentId, book, uri, metadataKeys: Object.keys(metadata) });
      const step = planRegistration({ view: { agentId: status.agentId, book }, chain, signer: registry.signer, uri, metadata, deleting });
      return finish(raw, status, await carryOut(step, registry, status, book, network), step.kind === "reserve");
    } catch (error) {
      if (!isRegistryError(error)) throw error;
      log.warn("registry unavailable", { offer: key, registry: registry.address, kind: error.kind, message: error.message });
      const registered: ConditionState = status.agentId !== undefined
        ? { status: "True", reason: "Registered", message: registeredMessage(status.agentId, network) }
        : { status: error.kind === "refused" ? "False" : "Unknown", reason: error.kind === "refused" ? "RegistrationFailed" : "ChainUnreachable", message: error.message };
      return finish(raw, status, { registered, agentId: status.agentId, transaction: status.registrationTxHash, book, again: 10_000 });
    }
  }

  async function carryOut(step: RegistrationStep, registry: IdentityRegistry, status: ServiceOfferStatus, book: RegistrationBook, network: Network): Promise<Outcome> {
    const current = { agentId: status.agentId, transaction: status.registrationTxHash, book };
    const registered = (agentId: string): ConditionState => ({ status: "True", reason: "Registered", message: registeredMessage(agentId, network) });
    switch (step.kind) {
      case "record":
        return { registered: { ...registered(step.agentId), reason: book.pending ? "Registered" : "AlreadyRegistered" }, agentId: step.agentId, transaction: step.transaction, book: { uri: step.uri }, again: 0 };
      case "reserve":
        return { ...current, registered: registering(`registering ${step.uri} from ${step.pending.account} at nonce ${step.pending.nonce}`), book: { uri: step.uri, pending: step.pending }, again: 0 };
      case "send":
        await registry.register(step.uri, step.nonce);
        options.sent?.("register");
        return { ...current, registered: registering(`register(${step.uri}) sent at nonce ${step.nonce}; waiting for it to be mined`), again: 1000 };
      case "release":
        return { ...current, registered: registering("the reserved nonce went to another transaction; registering again"), book: { uri: book.uri }, again: 0 };
      case "update-uri":
        await registry.setAgentUri(step.agentId, step.uri);
        options.sent?.("uri");
        return { ...current, registered: registered(step.agentId), again: 0 };
      case "update-metadata":
        await registry.setMetadata(step.agentId, step.key, step.value);
        options.sent?.("metadata");
        return { ...current, registered: registered(step.agentId), again: 0 };
      case "await-external":
        return { ...current, registered: { status: "False", reason: "AwaitingExternalRegistration", message: `no registration key: register ${step.uri} on ${registry.address} and it is recorded once found` }, again: 5000 };
      case "await-other-key":
        return { ...current, registered: registering(`a registration sent by ${step.pending.account} at nonce ${step.pending.nonce} is not mined yet, and this controller has another key`), again: 10_000 };
      case "mark-tombstoned":
        return { ...current, registered: { status: "False", reason: "Tombstoned", message: `agent ${status.agentId} marked inactive` }, book: { ...book, tombstoned: true } };
      case "idle":
        return { ...current, registered: status.agentId !== undefined ? registered(status.agentId) : registering("waiting for the chain"), again: status.agentId !== undefined ? undefined : 1000 };
    }
  }

  /** Writes what changed (nothing, when nothing did); a reservation only over the offer as read. */
  async function finish(raw: KubeObject, status: ServiceOfferStatus, outcome: Outcome, guarded = false): Promise<{ requeueAfterMs?: number }> {
    const conditions = nextConditions(status.conditions, [[REGISTERED as never, outcome.registered]], raw.metadata.generation, kubeTime(new Date(clock.now())));
    const condition = conditions.find((c) => c.type === REGISTERED)!;
    const before = status.conditions.find((c) => c.type === REGISTERED);
    const changed = JSON.stringify([status.agentId, status.registrationTxHash, status.registration ?? {}]) !== JSON.stringify([outcome.agentId, outcome.transaction, outcome.book]) ||
      !before || before.status !== condition.status || before.reason !== condition.reason || before.message !== condition.message;
    if (changed) {
      const metadata: Record<string, unknown> = { name: raw.metadata.name, namespace: raw.metadata.namespace };
      if (guarded) metadata.resourceVersion = raw.metadata.resourceVersion;
      const body = { apiVersion: OFFER_API_VERSION, kind: OFFER_KIND, metadata, status: { agentId: outcome.agentId, registrationTxHash: outcome.transaction, registration: outcome.book, conditions: [condition] } };
      const written = await client.request<KubeObject>("PATCH", resourcePath(SERVICE_OFFER, raw.metadata.namespace, raw.metadata.name, "status"), {
        body: JSON.parse(JSON.stringify(body)), contentType: "application/apply-patch+yaml", query: { fieldManager: REGISTRAR_FIELD_MANAGER, force: true },
      });
      offers.remember(written);
      if (before?.status !== condition.status) log.info("registration", { offer: `${raw.metadata.namespace}/${raw.metadata.name}`, status: condition.status, reason: condition.reason, agentId: outcome.agentId, transaction: outcome.transaction });
    }
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
