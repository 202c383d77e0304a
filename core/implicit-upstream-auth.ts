// The credentials obol-stack sends upstream without an offer naming them: an offer in front
// of LiteLLM (upstream.service "litellm", any case) gets "Bearer " + Secret litellm-secrets,
// key LITELLM_MASTER_KEY. Without it LiteLLM answers 401 to every paid request.
//
// One difference, on purpose: the verifier reads the Secret in the offer's namespace (as it
// does for every route), never in the upstream's. obol-stack reads the upstream's; here an
// offer in one namespace could then spend another namespace's master key on its own sales.
// Where offer and upstream share a namespace (obol-stack's usual layout) the two agree.
import type { UpstreamAuth } from "./service-offer.ts";

export const LITELLM_AUTH: UpstreamAuth = { secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY" }, scheme: "Bearer" };

/** What the offer's route sends upstream: the offer's own upstreamAuth, else obol-stack's implicit one, else nothing. */
export function upstreamAuthOf(spec: { upstream: { service: string }; upstreamAuth?: UpstreamAuth }): UpstreamAuth | undefined {
  if (spec.upstreamAuth) return spec.upstreamAuth;
  return spec.upstream.service.toLowerCase() === "litellm" ? LITELLM_AUTH : undefined;
}
