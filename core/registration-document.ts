// The ERC-8004 registration document as a PaymentRoute carries it to the verifier, which
// serves it: validated like any other input (a tenant may write a PaymentRoute by hand), and
// bounded, so that a route cannot make the host's documents huge.
import * as v from "valibot";
import { REGISTRATION_TYPE } from "./agent-registration.ts";

const text = (max: number) => v.pipe(v.string(), v.maxLength(max, `must be at most ${max} characters`));
const words = v.pipe(v.array(text(128)), v.maxLength(32, "must list at most 32"));

export const AgentRegistrationSchema = v.strictObject({
  type: v.literal(REGISTRATION_TYPE),
  name: v.pipe(text(128), v.minLength(1, "must not be empty")),
  description: text(1024),
  image: v.optional(text(2048)),
  services: v.pipe(v.array(v.strictObject({
    name: text(64),
    endpoint: v.optional(text(2048)),
    version: v.optional(text(64)),
    skills: v.optional(words),
    domains: v.optional(words),
  })), v.maxLength(16, "must list at most 16")),
  x402Support: v.boolean(),
  active: v.boolean(),
  registrations: v.pipe(v.array(v.strictObject({
    agentId: v.union([v.pipe(v.number(), v.integer(), v.minValue(0)), v.pipe(v.string(), v.regex(/^\d{1,78}$/, "must be a whole number"))]),
    agentRegistry: v.pipe(v.string(), v.regex(/^eip155:\d{1,12}:0x[0-9a-fA-F]{40}$/, "must be eip155:<chain>:<registry>")),
  })), v.maxLength(4, "must list at most 4")),
  supportedTrust: v.optional(words),
  metadata: v.optional(v.pipe(v.record(text(128), text(2048)), v.check((m) => Object.keys(m).length <= 32, "must hold at most 32 keys"))),
});

/** `spec.registration` of a PaymentRoute: the offer (in the route's own namespace) and its document. */
export const RouteRegistrationSchema = v.strictObject({
  agent: v.pipe(v.string(), v.regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be the offer's name")),
  document: AgentRegistrationSchema,
});
export type RouteRegistration = v.InferOutput<typeof RouteRegistrationSchema>;
