// Kubernetes Events on a ServiceOffer (events.k8s.io/v1), what `kubectl describe so` shows.
// Best effort: a failed Event is logged, never a reason to fail a reconcile.
import type { KubeObject } from "../core/kube.ts";
import type { OfferEvent } from "../core/transitions.ts";
import type { Logger } from "../adapters/log.ts";
import type { KubeClient } from "../kube/client.ts";
import { microTime } from "../kube/leader-election.ts";
import { apiVersionOf, RESOURCES, resourcePath } from "../kube/resources.ts";

export const REPORTING_CONTROLLER = "obol.org/x402-operator";

export type EventRecorder = (offer: KubeObject, event: OfferEvent) => void;

export function kubeEventRecorder(client: KubeClient, instance: string, now: () => number, log: Logger): EventRecorder {
  return (offer, event) => {
    const { name, namespace, uid, resourceVersion } = offer.metadata;
    const body = {
      apiVersion: apiVersionOf(RESOURCES.Event),
      kind: RESOURCES.Event.kind,
      metadata: { generateName: `${name}-`, namespace },
      eventTime: microTime(now()),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: instance,
      action: event.reason,
      reason: event.reason,
      note: event.message.slice(0, 1024),
      type: event.type,
      regarding: { apiVersion: offer.apiVersion, kind: offer.kind, name, namespace, uid, resourceVersion },
    };
    client.request("POST", resourcePath(RESOURCES.Event, namespace), { body }).catch((error) =>
      log.warn("could not record event", { offer: `${namespace}/${name}`, reason: event.reason, error: (error as Error).message })
    );
  };
}
