// ERC-8004 (EIP-8004) agent registration: the registration document a registration-enabled
// offer publishes, as obol-stack builds it from the same `spec.registration` fields (name,
// description, image, services, skills and domains as an OASF service, supportedTrust,
// metadata), and its tombstone when the offer goes. Pure: the public URL, the agent id and the
// chain are parameters.
import { caip2, type Network } from "./networks.ts";
import type { FieldIssue } from "./field-issues.ts";
import type { OfferIdentity } from "./ownership.ts";
import type { ServiceOfferSpec } from "./service-offer.ts";

export const REGISTRATION_TYPE = "https://eips.ethereum.org/EIPS/eip-8004#registration-v1";
/** Where a registration document is served on the seller's public host. */
export const REGISTRATION_PATH = "/.well-known/agent-registration.json";

/** ERC-8004 Identity Registries (erc-8004-contracts' registry-addresses.json), by chain id. */
export const IDENTITY_REGISTRIES: Readonly<Record<number, `0x${string}`>> = {
  1: "0x8004A169FB4a3325136EB29fA0ceB6D2e539a432",
  8453: "0x8004A169FB4a3325136EB29fA0ceB6D2e539a432",
  11155111: "0x8004A818BFB912233c491871b3d84c89A494BD9e",
  84532: "0x8004A818BFB912233c491871b3d84c89A494BD9e",
};

export type AgentService = { name: string; endpoint?: string; version?: string; skills?: string[]; domains?: string[] };

export type AgentRegistration = {
  type: typeof REGISTRATION_TYPE;
  name: string;
  description: string;
  image?: string;
  services: AgentService[];
  x402Support: boolean;
  active: boolean;
  /** Once registered: the agent id (a JSON number while it is one exactly) in its registry ("eip155:<chain>:<registry>"). */
  registrations: { agentId: number | string; agentRegistry: string }[];
  supportedTrust?: string[];
  /** obol-stack's extension: the offer's metadata, every value a string. */
  metadata?: Record<string, string>;
};

type Registration = NonNullable<ServiceOfferSpec["registration"]>;

export function registrationEnabled(spec: ServiceOfferSpec): boolean {
  return spec.registration?.enabled === true;
}

/** "eip155:<chain>:<registry>", or undefined where ERC-8004 has no Identity Registry. */
export function agentRegistry(network: Network): string | undefined {
  const registry = IDENTITY_REGISTRIES[network.chainId];
  return registry && `${caip2(network)}:${registry}`;
}

/** What an enabled registration must be to be published; each problem names its field. */
export function registrationIssues(spec: ServiceOfferSpec, network: Network): FieldIssue[] {
  const registration = spec.registration;
  if (!registration || registration.enabled !== true) return [];
  const issues: FieldIssue[] = [];
  const field = "spec.registration";
  if (!agentRegistry(network)) issues.push({ field: `${field}.enabled`, message: `ERC-8004 has no Identity Registry on ${network.name}: register on base, base-sepolia, ethereum or sepolia` });
  if (registration.name !== undefined && (registration.name.trim() === "" || registration.name.length > 128)) issues.push({ field: `${field}.name`, message: "must be 1 to 128 characters" });
  if (registration.description !== undefined && registration.description.length > 1024) issues.push({ field: `${field}.description`, message: "must be at most 1024 characters" });
  if (registration.image !== undefined && !isWebUrl(registration.image)) issues.push({ field: `${field}.image`, message: "must be an absolute http(s) URL" });
  for (const [i, service] of (registration.services ?? []).entries()) {
    const { name, endpoint, version } = service as Record<string, unknown>;
    if (typeof name !== "string" || name.trim() === "") issues.push({ field: `${field}.services[${i}].name`, message: "is required: a service name (web, A2A, MCP, ...)" });
    if (typeof endpoint !== "string" || endpoint.trim() === "" || endpoint.length > 2048) issues.push({ field: `${field}.services[${i}].endpoint`, message: "is required: at most 2048 characters" });
    if (version !== undefined && typeof version !== "string") issues.push({ field: `${field}.services[${i}].version`, message: "must be a string" });
  }
  return issues;
}

/**
 * The document an offer publishes: `publicUrl` is the seller's public origin (its `web` service
 * is the offer's path there), `agentId` the one the registry gave it, once it has one.
 */
export function registrationDocument(id: OfferIdentity, spec: ServiceOfferSpec, path: string, network: Network, publicUrl: string, agentId?: string): AgentRegistration | undefined {
  const registration = spec.registration;
  if (!registration || registration.enabled !== true) return undefined;
  const registry = agentRegistry(network);
  const document: AgentRegistration = {
    type: REGISTRATION_TYPE,
    name: registration.name ?? id.name,
    description: registration.description ?? defaultDescription(id, spec),
    services: servicesOf(registration, publicUrl.replace(/\/+$/, "") + path),
    x402Support: true,
    active: true,
    registrations: agentId !== undefined && registry ? [{ agentId: asJsonId(agentId), agentRegistry: registry }] : [],
  };
  if (registration.image !== undefined) document.image = registration.image;
  if (registration.supportedTrust?.length) document.supportedTrust = [...registration.supportedTrust];
  const metadata = stringMetadata(registration.metadata);
  if (metadata) document.metadata = metadata;
  return document;
}

/**
 * The agentURI an offer registers: the host's registration document, narrowed to this offer.
 * One URI per offer, so that the registry's logs tell each offer's registration apart.
 */
export function agentUriOf(publicUrl: string, id: Pick<OfferIdentity, "namespace" | "name">): string {
  return `${publicUrl.replace(/\/+$/, "")}${REGISTRATION_PATH}?agent=${id.namespace}/${id.name}`;
}

/** A document as a data: URI, for what must outlive the seller's host (a tombstone). */
export function dataUriOf(document: AgentRegistration): string {
  const bytes = new TextEncoder().encode(JSON.stringify(document));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:application/json;base64,${btoa(binary)}`;
}

/** What is left once the offer is gone: the same agent, marked inactive and not paid through x402. */
export function tombstoneOf(document: AgentRegistration): AgentRegistration {
  return { ...document, description: `${document.description} (deactivated)`, x402Support: false, active: false };
}

function servicesOf(registration: Registration, webEndpoint: string): AgentService[] {
  const services: AgentService[] = [{ name: "web", endpoint: webEndpoint }];
  if (registration.skills?.length || registration.domains?.length) {
    const oasf: AgentService = { name: "OASF", version: "0.8" };
    if (registration.skills?.length) oasf.skills = [...registration.skills];
    if (registration.domains?.length) oasf.domains = [...registration.domains];
    services.push(oasf);
  }
  for (const service of registration.services ?? []) {
    const { name, endpoint, version } = service as Record<string, unknown>;
    const declared: AgentService = { name: String(name) };
    if (typeof endpoint === "string") declared.endpoint = endpoint;
    if (typeof version === "string") declared.version = version;
    services.push(declared);
  }
  return services;
}

function defaultDescription(id: OfferIdentity, spec: ServiceOfferSpec): string {
  if (spec.type === "inference" && spec.model) return `${spec.model.name} inference via x402 micropayments`;
  return `x402 payment-gated ${spec.type ?? "http"} service: ${id.name}`;
}

/** Every value kept: strings as they are, anything else as its JSON (the document's metadata is string to string). */
function stringMetadata(metadata: Record<string, unknown> | undefined): Record<string, string> | undefined {
  const entries = Object.entries(metadata ?? {}).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)] as const);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function asJsonId(agentId: string): number | string {
  const n = Number(agentId);
  return /^\d+$/.test(agentId) && Number.isSafeInteger(n) ? n : agentId;
}

function isWebUrl(text: string): boolean {
  return /^https?:\/\/[^\s/]+/.test(text) && text.length <= 2048;
}
