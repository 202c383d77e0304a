// ERC-8004 registration documents on the seller's host, from the PaymentRoutes that carry
// them (one source: what the controller built from each offer): one agent's document at
// /.well-known/agent-registration.json?agent=<namespace>/<name> (the agentURI it registers),
// and, without a query, the host's own, which lists the host's paid services and, for ERC-8004's
// endpoint-domain check, the registrations of every agent whose on-chain URI is on this very
// host. A registration a route merely claims is never listed: a tenant cannot make the host
// vouch for an agent that is not its own.
import { type AgentRegistration, IDENTITY_REGISTRIES, REGISTRATION_PATH, REGISTRATION_TYPE } from "../core/agent-registration.ts";
import type { Network } from "../core/networks.ts";
import { resourcePath } from "./discovery.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import type { AgentUriReader } from "./x402/agent-uri.ts";

/** The document of `agent` ("namespace/name"), from a route in that namespace. */
export function agentDocument(routes: readonly PricedRoute[], agent: string): AgentRegistration | undefined {
  const slash = agent.indexOf("/");
  const [namespace, name] = [agent.slice(0, slash), agent.slice(slash + 1)];
  return routes.find((r) => r.namespace === namespace && r.registration?.agent === name)?.registration?.document as AgentRegistration | undefined;
}

/** At most this many services and registrations in the host's document (each registration costs a chain read). */
export const MAX_HOST_ENTRIES = 100;

/**
 * `origin`: scheme and host as the buyer reached us. Its services are the registered offers'
 * `web` endpoints that are on this host under their own route's prefix (a document may declare
 * any URL as "web"; the host lists only its own).
 */
export async function hostDocument(routes: readonly PricedRoute[], origin: string, networks: readonly Network[], agentUri?: AgentUriReader): Promise<AgentRegistration> {
  const host = new URL(origin).host;
  const registered = routes.filter((r) => r.registration).slice(0, MAX_HOST_ENTRIES);
  const endpoints = new Set(registered.flatMap((r) => r.registration!.document.services.filter((s) => s.name === "web" && onThisRoute(s.endpoint, host, r)).map((s) => s.endpoint!)));
  const services = [...endpoints].map((endpoint) => ({ name: "web", endpoint }));
  const claimed = registered.flatMap((r) => r.registration!.document.registrations.map((entry) => [r, entry] as const)).slice(0, MAX_HOST_ENTRIES);
  const checks = claimed.map(async ([r, entry]) => {
    const [, chain, registry] = entry.agentRegistry.split(":");
    const network = networks.find((n) => String(n.chainId) === chain);
    // Only ERC-8004's own registries, on a chain we can read.
    if (!network || !agentUri || IDENTITY_REGISTRIES[network.chainId]?.toLowerCase() !== registry?.toLowerCase()) return undefined;
    const uri = await agentUri(network, registry as `0x${string}`, BigInt(entry.agentId));
    return uri !== undefined && onThisHost(uri, host, `${r.namespace}/${r.registration!.agent}`) ? entry : undefined;
  });
  const registrations = (await Promise.all(checks)).filter((e) => e !== undefined);
  return {
    type: REGISTRATION_TYPE,
    name: host,
    description: `x402 paid services at ${host}`,
    services,
    x402Support: true,
    active: true,
    registrations,
  };
}

/** Whether `endpoint` is on this host, under the route's own public prefix. */
function onThisRoute(endpoint: string | undefined, host: string, route: PricedRoute): boolean {
  if (endpoint === undefined || !URL.canParse(endpoint)) return false;
  const url = new URL(endpoint);
  return url.host === host && `${url.pathname.replace(/\/?$/, "/")}`.startsWith(resourcePath(route.pattern));
}

/** Whether `uri` is this host's document of exactly this agent. */
function onThisHost(uri: string, host: string, agent: string): boolean {
  try {
    const url = new URL(uri);
    return url.host === host && url.pathname === REGISTRATION_PATH && url.searchParams.get("agent") === agent;
  } catch {
    return false;
  }
}
