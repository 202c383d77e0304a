// The controller process: its ops endpoints (/healthz, /readyz, /metrics) and, when
// replicas compete, the leader-election loop around the controller. Flags are the CLI's
// business (cli/controller.ts); this is what runs once they are read.
import type { Clock } from "../adapters/clock.ts";
import type { Logger } from "../adapters/log.ts";
import { opsApp } from "../adapters/ops-app.ts";
import { serveFetch } from "../adapters/serve.ts";
import type { OperatorConfig } from "../core/config.ts";
import type { KubeClient } from "../kube/client.ts";
import { type ElectionOptions, startElection } from "../kube/leader-election.ts";
import { kubeLeaseStore } from "../kube/lease-store.ts";
import { type Controller, startController } from "./controller.ts";
import { kubeEventRecorder } from "./events.ts";
import { dnsProber, endpointsProber } from "./health-probe.ts";
import { type ControllerMetrics, controllerMetrics } from "./metrics.ts";
import { startProbeScheduler } from "./probe-scheduler.ts";
import { type Registrar, type RegistrarOptions, startRegistrar } from "./registrar.ts";
import { sharedProber } from "./shared-prober.ts";

export type ProbeMode = "endpoints" | "dns";

export type ManagerOptions = {
  client: KubeClient;
  config: OperatorConfig;
  log: Logger;
  clock: Clock;
  /** This replica's name, in the Lease and in the Events it records. */
  identity: string;
  listen: { hostname: string; port: number };
  /** Compete for this Lease and reconcile only while holding it; absent: reconcile at once. */
  lease?: { namespace: string; name: string };
  probe: { mode: ProbeMode; intervalMs: number; timeoutMs: number };
  concurrency: number;
  /** Resolves with the reason to stop, e.g. the signal's name. */
  stopping: Promise<string>;
  metrics?: ControllerMetrics;
  /** ERC-8004 registries by network (controller/registrar.ts); absent: offers are not registered. */
  registryFor?: RegistrarOptions["registryFor"];
  /** Timings of the election (tests shorten them). */
  election?: Pick<ElectionOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">;
};

export type Manager = {
  /** Where the ops endpoints listen. */
  readonly address: { hostname: string; port: number };
  /** Resolves, with the reason, once the controller has stopped and the endpoints are closed. */
  readonly done: Promise<string>;
};

export async function startManager(options: ManagerOptions): Promise<Manager> {
  const { client, config, log, clock, identity, probe, stopping } = options;
  const metrics = options.metrics ?? controllerMetrics();
  let controller: Controller | undefined;
  let registrar: Registrar | undefined;

  const run = () => {
    const direct = probe.mode === "dns" ? dnsProber(probe.timeoutMs) : endpointsProber(client, probe.timeoutMs);
    const prober = sharedProber(direct, clock.now, probe.intervalMs / 2);
    const probes = startProbeScheduler(prober, clock, probe.intervalMs, log, (key) => controller?.enqueue(key));
    const events = kubeEventRecorder(client, identity, clock.now, log);
    controller = startController({ client, config, log, clock, probes, events, metrics, concurrency: options.concurrency });
    // Its own loop: a chain's slowness never holds back the offers' children.
    if (options.registryFor) registrar = startRegistrar({ client, config, log, clock, registryFor: options.registryFor, sent: metrics.registryTransaction });
    log.info("reconciling", { gateway: config.gateway, verifierUrl: config.verifierUrl, probe: probe.mode });
  };
  const stop = async () => {
    await Promise.all([controller?.stop(), registrar?.stop()]);
    controller = undefined;
    registrar = undefined;
  };

  // A standby is ready (it serves health and waits); a leader once its caches are filled.
  const app = opsApp({ notReady: () => (!controller || controller.synced ? undefined : "caches not synced yet"), registry: metrics.registry });
  const server = await serveFetch(app.fetch, options.listen.hostname, options.listen.port);
  log.info("controller listening", { address: `${server.hostname}:${server.port}`, leaderElect: options.lease !== undefined });

  const lead = async (lease: { namespace: string; name: string }): Promise<string> => {
    // Leading, losing the lease (an API server outage longer than the renew deadline), then
    // competing again: work stops before the lease can be lost to another replica, and starts
    // again only once we hold it, so there is never a second writer.
    for (;;) {
      const election = startElection({ identity, store: kubeLeaseStore(client, lease.namespace, lease.name), clock, log, ...options.election });
      const acquired = await Promise.race([election.acquired.then(() => "acquired"), stopping]);
      if (acquired !== "acquired") {
        await election.stop();
        return acquired;
      }
      metrics.leader(true);
      run();
      const ended = await Promise.race([election.lost.then(() => "lost-leadership"), stopping]);
      metrics.leader(false);
      await stop();
      await election.stop();
      if (ended !== "lost-leadership") return ended;
      log.warn("stopped reconciling after losing the lease; competing for it again");
    }
  };

  const done = (async () => {
    let reason: string;
    if (options.lease) reason = await lead(options.lease);
    else {
      run();
      reason = await stopping;
    }
    log.info("shutting down", { reason });
    await stop();
    await server.close();
    return reason;
  })();

  return { address: { hostname: server.hostname, port: server.port }, done };
}
