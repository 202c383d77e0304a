// `controller`: reconciles ServiceOffers into their children, optionally as one of several
// replicas with leader election; serves /healthz, /readyz and /metrics.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { Hono } from "hono";
import { systemClock } from "../adapters/clock.ts";
import { dnsProber, endpointsProber } from "../controller/health-probe.ts";
import { sharedProber } from "../controller/shared-prober.ts";
import { startProbeScheduler } from "../controller/probe-scheduler.ts";
import { parseListen, serveFetch } from "../adapters/serve.ts";
import { kubeClient } from "../kube/client.ts";
import { loadClusterAccess } from "../kube/kubeconfig.ts";
import { type Controller, startController } from "../controller/controller.ts";
import { controllerMetrics } from "../controller/metrics.ts";
import { kubeEventRecorder } from "../controller/events.ts";
import { startElection } from "../kube/leader-election.ts";
import { kubeLeaseStore } from "../kube/lease-store.ts";
import { jsonLogger } from "../adapters/log.ts";
import { CONFIG_HELP, CONFIG_OPTIONS, configFromFlags, UsageError } from "./config-flags.ts";
import { untilSignal } from "./signals.ts";

export const CONTROLLER_HELP = `Usage: controller [options]

Turns each ServiceOffer into its PaymentRoute, Traefik Middleware and Gateway API
HTTPRoute (and a ReferenceGrant for a cross-namespace upstream), keeps them so, and
reports status. Serves /healthz, /readyz and /metrics on --listen.

Options (each also from the environment variable named):
      --kubeconfig FILE       kubeconfig (KUBECONFIG; default: in-cluster or ~/.kube/config)
      --listen HOST:PORT      health and metrics (X402_CONTROLLER_LISTEN; default 0.0.0.0:8081)
      --leader-elect          compete for a Lease; only the holder reconciles (X402_LEADER_ELECT=true)
      --lease NS/NAME         the Lease (X402_LEASE; default $POD_NAMESPACE or x402, name x402-controller)
      --identity ID           this replica's name in the Lease (POD_NAME; default hostname-pid)
      --probe endpoints|dns   reach upstreams through ready EndpointSlice addresses, or cluster DNS
                              (X402_PROBE; default endpoints)
      --probe-interval S      seconds between health probes of an upstream (X402_PROBE_INTERVAL; default 10)
      --probe-timeout S       seconds before a probe counts as failed (X402_PROBE_TIMEOUT; default 2)
      --concurrency N         offers reconciled at once (X402_CONCURRENCY; default 4)
      --no-admission-wait     publish the route without waiting for the verifier to admit the
                              PaymentRoute (X402_ADMISSION_WAIT=false)
${CONFIG_HELP}`;

export async function controllerCommand(args: string[], out: (t: string) => void): Promise<number> {
  const env = process.env;
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: "string" }, listen: { type: "string" }, "leader-elect": { type: "boolean" }, lease: { type: "string" },
      identity: { type: "string" }, probe: { type: "string" }, "probe-interval": { type: "string" }, "probe-timeout": { type: "string" },
      concurrency: { type: "string" }, "no-admission-wait": { type: "boolean" }, help: { type: "boolean", short: "h" }, ...CONFIG_OPTIONS,
    },
  });
  if (values.help) return out(CONTROLLER_HELP), 0;
  const listen = parseListen(values.listen ?? env.X402_CONTROLLER_LISTEN ?? "0.0.0.0:8081");
  if (!listen) throw new UsageError("--listen must be HOST:PORT");
  const number = (flag: string, text: string | undefined, fallback: number) => {
    const value = Number(text ?? fallback);
    if (!(value > 0)) throw new UsageError(`--${flag} must be a positive number`);
    return value;
  };
  const probeMode = values.probe ?? env.X402_PROBE ?? "endpoints";
  if (probeMode !== "endpoints" && probeMode !== "dns") throw new UsageError("--probe must be endpoints or dns");
  const probeTimeoutMs = number("probe-timeout", values["probe-timeout"] ?? env.X402_PROBE_TIMEOUT, 2) * 1000;
  const probeIntervalMs = number("probe-interval", values["probe-interval"] ?? env.X402_PROBE_INTERVAL, 10) * 1000;
  const concurrency = number("concurrency", values.concurrency ?? env.X402_CONCURRENCY, 4);
  const leaderElect = values["leader-elect"] ?? env.X402_LEADER_ELECT === "true";
  const [leaseNamespace, leaseName] = (values.lease ?? env.X402_LEASE ?? `${env.POD_NAMESPACE ?? "x402"}/x402-controller`).split("/");
  if (!leaseNamespace || !leaseName) throw new UsageError("--lease must be NAMESPACE/NAME");
  const identity = values.identity ?? env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const base = configFromFlags(values, env);
  const config = { ...base, requireAdmission: !(values["no-admission-wait"] ?? env.X402_ADMISSION_WAIT === "false") };

  const log = jsonLogger({ component: "controller", identity });
  const client = kubeClient(await loadClusterAccess(values.kubeconfig ?? env.KUBECONFIG), `x402-operator/${identity}`);
  const metrics = controllerMetrics();
  let controller: Controller | undefined;

  const run = () => {
    const prober = sharedProber(probeMode === "dns" ? dnsProber(probeTimeoutMs) : endpointsProber(client, probeTimeoutMs), Date.now, probeIntervalMs / 2);
    const probes = startProbeScheduler(prober, systemClock, probeIntervalMs, log, (key) => controller?.enqueue(key));
    controller = startController({ client, config, log, clock: systemClock, probes, events: kubeEventRecorder(client, identity, Date.now, log), metrics, concurrency });
    log.info("reconciling", { gateway: config.gateway, verifierUrl: config.verifierUrl, probe: probeMode });
  };

  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok"));
  // A standby is ready (it serves health and waits); a leader once its caches are filled.
  app.get("/readyz", (c) => (!controller || controller.synced ? c.text("ok") : c.text("caches not synced yet", 503)));
  app.get("/metrics", (c) => c.text(metrics.registry.render(), 200, { "content-type": "text/plain; version=0.0.4" }));
  const server = await serveFetch(app.fetch, listen.hostname, listen.port);
  log.info("controller listening", { address: `${server.hostname}:${server.port}`, leaderElect });

  const stopping = untilSignal();
  let reason: string;
  if (!leaderElect) {
    run();
    reason = await stopping;
  } else {
    // Leading, losing the lease (an API server outage longer than the renew deadline), then
    // competing again: work stops before the lease can be lost to another replica, and starts
    // again only once we hold it, so there is never a second writer.
    for (;;) {
      const election = startElection({ identity, store: kubeLeaseStore(client, leaseNamespace, leaseName), clock: systemClock, log });
      const acquired = await Promise.race([election.acquired.then(() => "acquired"), stopping]);
      if (acquired !== "acquired") {
        await election.stop();
        reason = acquired;
        break;
      }
      metrics.leader(true);
      run();
      const ended = await Promise.race([election.lost.then(() => "lost-leadership"), stopping]);
      metrics.leader(false);
      await controller?.stop();
      controller = undefined;
      await election.stop();
      if (ended !== "lost-leadership") {
        reason = ended;
        break;
      }
      log.warn("stopped reconciling after losing the lease; competing for it again");
    }
  }
  log.info("shutting down", { reason });
  await controller?.stop();
  await server.close();
  return 0;
}
