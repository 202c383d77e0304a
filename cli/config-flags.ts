// The operator settings every command shares, from flags first, then environment.
import { configWith, DEFAULT_CONFIG, type OperatorConfig, parseGatewayRef, parseServiceRef } from "../core/config.ts";

export class UsageError extends Error {}

export const CONFIG_OPTIONS = {
  gateway: { type: "string" },
  "verifier-url": { type: "string" },
  "data-path-service": { type: "string" },
  "public-url": { type: "string" },
} as const;

export const CONFIG_HELP = `      --gateway NS/NAME[/SECTION]  parent Gateway of every HTTPRoute
                              (env X402_GATEWAY; default ${DEFAULT_CONFIG.gateway.namespace}/${DEFAULT_CONFIG.gateway.name}/${DEFAULT_CONFIG.gateway.sectionName})
      --verifier-url URL      the verifier's ForwardAuth URL as Traefik reaches it
                              (env X402_VERIFIER_URL; default ${DEFAULT_CONFIG.verifierUrl})
      --data-path-service NS/NAME:PORT  the verifier's data-path Service, backend of offers
                              with dataPath: true (env X402_DATA_PATH_SERVICE; default
                              ${DEFAULT_CONFIG.dataPathService.namespace}/${DEFAULT_CONFIG.dataPathService.name}:${DEFAULT_CONFIG.dataPathService.port})
      --public-url URL        the seller's public origin, named in ERC-8004 registration
                              documents (env X402_PUBLIC_URL; default ${DEFAULT_CONFIG.publicUrl})
`;

type Flags = { gateway?: string; "verifier-url"?: string; "data-path-service"?: string; "public-url"?: string };

export function configFromFlags(flags: Flags, env: Record<string, string | undefined>): OperatorConfig {
  const gatewayText = flags.gateway ?? env.X402_GATEWAY;
  const gateway = gatewayText === undefined ? undefined : parseGatewayRef(gatewayText);
  if (gatewayText !== undefined && !gateway) throw new UsageError(`--gateway must be NAMESPACE/NAME or NAMESPACE/NAME/SECTION, got "${gatewayText}"`);
  const verifierUrl = flags["verifier-url"] ?? env.X402_VERIFIER_URL;
  if (verifierUrl !== undefined && !URL.canParse(verifierUrl)) throw new UsageError(`--verifier-url must be an absolute URL, got "${verifierUrl}"`);
  const serviceText = flags["data-path-service"] ?? env.X402_DATA_PATH_SERVICE;
  const dataPathService = serviceText === undefined ? undefined : parseServiceRef(serviceText);
  if (serviceText !== undefined && !dataPathService) throw new UsageError(`--data-path-service must be NAMESPACE/NAME:PORT, got "${serviceText}"`);
  const publicUrl = flags["public-url"] ?? env.X402_PUBLIC_URL;
  if (publicUrl !== undefined && !/^https?:\/\/[^/?#\s]+\/?$/.test(publicUrl)) throw new UsageError(`--public-url must be an origin, http(s)://HOST[:PORT], got "${publicUrl}"`);
  return configWith({
    ...(gateway ? { gateway } : {}), ...(verifierUrl ? { verifierUrl } : {}), ...(dataPathService ? { dataPathService } : {}),
    ...(publicUrl ? { publicUrl: publicUrl.replace(/\/$/, "") } : {}),
  });
}
