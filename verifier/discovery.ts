// x402 discovery: /.well-known/x402 lists every route this verifier charges for (admitted,
// upstream healthy), each with the very accepts its 402 carries (one source: the priced
// route's v2 requirements), in the envelope of the x402 Bazaar's discovery API
// (DiscoveryResourcesResponse), so that buyers and facilitators can catalogue a seller
// without paying. Metered (upto) accepts are made per request and are not listed.
import type { PricedRoute } from "./routes/priced-route.ts";

/** The path prefix a buyer requests under: the pattern up to its first wildcard. */
export function resourcePath(pattern: string): string {
  const star = pattern.indexOf("*");
  return star === -1 ? pattern : pattern.slice(0, star);
}

/** `origin`: scheme and host as the buyer reached us ("https://seller.example"); `now` stamps lastUpdated. */
export function discoveryDocument(routes: readonly PricedRoute[], origin: string, now: Date): string {
  const listed = routes.filter((route) => route.upstreamHealthy).map((route) => ({ route, resource: origin + resourcePath(route.pattern) }));
  listed.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
  const lastUpdated = JSON.stringify(now.toISOString());
  const items = listed.map(({ route, resource }) =>
    `{"resource":${JSON.stringify(resource)},"type":"http","x402Version":2,"accepts":[${route.accepts.map((a) => a.v2RequirementJson).join(",")}],` +
    `"lastUpdated":${lastUpdated},"description":${JSON.stringify(route.description)},"mimeType":${JSON.stringify(route.mimeType)}` +
    `${route.extensionsJson ?? ""}}`
  );
  return `{"x402Version":2,"items":[${items.join(",")}],"pagination":{"limit":${items.length},"offset":0,"total":${items.length}}}`;
}
