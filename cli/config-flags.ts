// The operator settings every command shares, from flags first, then environment.
import { configWith, DEFAULT_CONFIG, type OperatorConfig, parseGatewayRef } from "../core/config.ts";

export class UsageError extends Error {}

export const CONFIG_OPTIONS = {
  gateway: { type: "string" },
  "verifier-url": { type: "string" },
} as const;

export const CONFIG_HELP = `      --gateway NS/NAME[/SECTION]  parent Gateway of every HTTPRoute
                              (env X402_GATEWAY; default ${DEFAULT_CONFIG.gateway.namespace}/${DEFAULT_CONFIG.gateway.name}/${DEFAULT_CONFIG.gateway.sectionName})
      --verifier-url URL      the verifier's ForwardAuth URL as Traefik reaches it
                              (env X402_VERIFIER_URL; default ${DEFAULT_CONFIG.verifierUrl})
`;

type Flags = { gateway?: string; "verifier-url"?: string };

export function configFromFlags(flags: Flags, env: Record<string, string | undefined>): OperatorConfig {
  const gatewayText = flags.gateway ?? env.X402_GATEWAY;
  const gateway = gatewayText === undefined ? undefined : parseGatewayRef(gatewayText);
  if (gatewayText !== undefined && !gateway) throw new UsageError(`--gateway must be NAMESPACE/NAME or NAMESPACE/NAME/SECTION, got "${gatewayText}"`);
  const verifierUrl = flags["verifier-url"] ?? env.X402_VERIFIER_URL;
  if (verifierUrl !== undefined && !URL.canParse(verifierUrl)) throw new UsageError(`--verifier-url must be an absolute URL, got "${verifierUrl}"`);
  return configWith({ ...(gateway ? { gateway } : {}), ...(verifierUrl ? { verifierUrl } : {}) });
}
