// The Registered condition: the registrar (controller/registrar.ts) owns and writes it; the
// core reads it to keep an offer whose registration is enabled from being Ready before its
// agent is on chain (as obol-stack does: an off-chain-only registration does not count).
import type { ConditionState } from "./conditions.ts";
import type { ServiceOfferSpec, ServiceOfferStatus } from "./service-offer.ts";
import { registrationEnabled } from "./agent-registration.ts";

export const REGISTERED = "Registered";

/** Ready as the other conditions say, unless an enabled registration is not on chain yet. */
export function gatedOnRegistration(ready: ConditionState, spec: ServiceOfferSpec, status: ServiceOfferStatus): ConditionState {
  if (!registrationEnabled(spec) || ready.status === "False") return ready;
  const registered = status.conditions.find((c) => c.type === REGISTERED);
  if (registered?.status === "True") return ready;
  if (registered?.status === "False") return { status: "False", reason: registered.reason, message: `${REGISTERED}: ${registered.message}` };
  if (ready.status === "Unknown") return ready;
  return { status: "Unknown", reason: registered?.reason ?? "Registering", message: `${REGISTERED}: ${registered?.message ?? "the agent registration is not on chain yet"}` };
}
