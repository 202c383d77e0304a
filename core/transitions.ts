// Which status changes deserve a Kubernetes Event on the offer: transitions a user wants
// to see in `kubectl describe`, never a repeat of the state it is already in.
import type { Condition } from "./kube.ts";

export type OfferEvent = { type: "Normal" | "Warning"; reason: string; message: string };

/** Reasons an offer is refused for what it says: told again whenever the message changes. */
const REFUSALS = ["InvalidSpec", "ReservedPath"];

export function transitions(before: readonly Condition[], after: readonly Condition[]): OfferEvent[] {
  const was = (type: string) => before.find((c) => c.type === type);
  const now = (type: string) => after.find((c) => c.type === type);
  const flipped = (type: string, to: string) => now(type)?.status === to && was(type)?.status !== to;
  const events: OfferEvent[] = [];
  const ready = now("Ready");
  if (flipped("Ready", "True")) events.push({ type: "Normal", reason: "Published", message: now("RoutePublished")?.message || "the paid route is served" });
  if (flipped("UpstreamHealthy", "False")) events.push({ type: "Warning", reason: "UpstreamUnhealthy", message: now("UpstreamHealthy")!.message });
  if (flipped("UpstreamHealthy", "True") && was("UpstreamHealthy")?.status === "False") events.push({ type: "Normal", reason: "UpstreamRecovered", message: now("UpstreamHealthy")!.message });
  for (const refused of REFUSALS) {
    if (ready?.reason === refused && (was("Ready")?.reason !== refused || was("Ready")?.message !== ready.message)) {
      events.push({ type: "Warning", reason: refused, message: ready.message });
    }
  }
  if (ready?.reason === "CRDNotInstalled" && was("Ready")?.reason !== "CRDNotInstalled") events.push({ type: "Warning", reason: "CRDNotInstalled", message: ready.message });
  return events;
}
