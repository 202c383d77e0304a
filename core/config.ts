// Operator settings. The defaults are the names the Go version used, so an operator
// installed with no flags publishes the same children it did.
import { DEFAULT_NETWORKS, type Network } from "./networks.ts";

export type GatewayRef = { name: string; namespace: string; sectionName: string };

export type OperatorConfig = {
  gateway: GatewayRef;
  /** The verifier's ForwardAuth endpoint, as Traefik reaches it. */
  verifierUrl: string;
  /** The verifier's data-path Service, the backend of offers served through it (dataPath: true). */
  dataPathService: { namespace: string; name: string; port: number };
  /** The seller's public origin (scheme and host), where registration documents name the offers' endpoints. */
  publicUrl: string;
  /** Headers Traefik copies from the verifier's 2xx answer onto the upstream request. */
  authResponseHeaders: readonly string[];
  finalizer: string;
  networks: readonly Network[];
  /**
   * The account that registers offers on ERC-8004 registries (its key is the registrar's), if
   * any: a deleted offer registered by it is let go only once its tombstone is on chain.
   */
  registrationAccount?: string;
  /** Wait for the verifier to admit a PaymentRoute before calling the gate ready. */
  requireAdmission: boolean;
  /**
   * When to look at an offer again, by how settled it is; `admission`: after applying a
   * PaymentRoute, if the verifier has not answered by then.
   */
  recheckSeconds: { ready: number; pending: number; unhealthy: number; admission: number };
};

export const DEFAULT_CONFIG: OperatorConfig = {
  gateway: { name: "traefik-gateway", namespace: "traefik", sectionName: "web" },
  verifierUrl: "http://x402-verifier.x402.svc.cluster.local:8080/verify",
  dataPathService: { namespace: "x402", name: "x402-verifier", port: 8081 },
  // obol-stack's default base URL for the same documents.
  publicUrl: "http://obol.stack:8080",
  authResponseHeaders: ["X-Payment-Response", "X-Payment-Payer", "Authorization"],
  finalizer: "obol.org/serviceoffer-cleanup",
  networks: DEFAULT_NETWORKS,
  requireAdmission: true,
  recheckSeconds: { ready: 300, pending: 5, unhealthy: 15, admission: 2 },
};

export type ConfigOverrides = Partial<Omit<OperatorConfig, "gateway" | "recheckSeconds">> & {
  gateway?: Partial<GatewayRef>;
  recheckSeconds?: Partial<OperatorConfig["recheckSeconds"]>;
};

export function configWith(overrides: ConfigOverrides = {}): OperatorConfig {
  return {
    ...DEFAULT_CONFIG,
    ...overrides,
    gateway: { ...DEFAULT_CONFIG.gateway, ...overrides.gateway },
    recheckSeconds: { ...DEFAULT_CONFIG.recheckSeconds, ...overrides.recheckSeconds },
  };
}

/** Parses "namespace/name/section" (section optional) as the CLI and env give it. */
export function parseGatewayRef(text: string): GatewayRef | undefined {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) return undefined;
  const [namespace, name, sectionName] = parts as [string, string, string | undefined];
  return { namespace, name, sectionName: sectionName ?? DEFAULT_CONFIG.gateway.sectionName };
}

/** Parses "namespace/name:port" as the CLI and env give it. */
export function parseServiceRef(text: string): OperatorConfig["dataPathService"] | undefined {
  const match = /^([a-z0-9-]+)\/([a-z0-9-]+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[3]) < 1 || Number(match[3]) > 65535) return undefined;
  return { namespace: match[1]!, name: match[2]!, port: Number(match[3]) };
}
