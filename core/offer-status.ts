// Reading the status an offer already has, and telling whether a new one differs.
import * as v from "valibot";
import { MAX_SPEC_DEPTH, nestingDepth } from "./json-depth.ts";
import { type ServiceOfferStatus, ServiceOfferStatusSchema } from "./service-offer.ts";
import { canonicalJson } from "./yaml-order.ts";

/** A status we cannot read (written by someone else, or garbled) counts as empty: we rewrite it. */
export function readStatus(raw: unknown): ServiceOfferStatus {
  // Compared by a recursive walk later (sameStatus): a status nested absurdly deep is not read at all.
  if (nestingDepth(raw) > MAX_SPEC_DEPTH) return { conditions: [] };
  const parsed = v.safeParse(ServiceOfferStatusSchema, raw ?? {});
  return parsed.success ? parsed.output : { conditions: [] };
}

export function sameStatus(a: ServiceOfferStatus, b: ServiceOfferStatus): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
