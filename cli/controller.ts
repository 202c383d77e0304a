// `controller`: reconciles ServiceOffers into their children, optionally as one of several
// replicas with leader election; serves /healthz, /readyz and /metrics.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { systemClock } from "../adapters/clock.ts";
import { jsonLogger } from "../adapters/log.ts";
import { parseListen } from "../adapters/serve.ts";
import { startManager } from "../controller/manager.ts";
import { kubeClient } from "../kube/client.ts";
import { loadClusterAccess } from "../kube/kubeconfig.ts";
import { CONFIG_HELP, CONFIG_OPTIONS, configFromFlags, UsageError } from "./config-flags.ts";
import { REGISTRATION_HELP, REGISTRATION_OPTIONS, registrationFromFlags } from "./registration-flags.ts";
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
${CONFIG_HELP}${REGISTRATION_HELP}`;

export async function controllerCommand(args: string[], out: (t: string) => void): Promise<number> {
  const env = process.env;
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: "string" }, listen: { type: "string" }, "leader-elect": { type: "boolean" }, lease: { type: "string" },
      identity: { type: "string" }, probe: { type: "string" }, "probe-interval": { type: "string" }, "probe-timeout": { type: "string" },
      concurrency: { type: "string" }, "no-admission-wait": { type: "boolean" }, help: { type: "boolean", short: "h" }, ...CONFIG_OPTIONS, ...REGISTRATION_OPTIONS,
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
  const registration = registrationFromFlags(values, env);
  const config = { ...base, requireAdmission: !(values["no-admission-wait"] ?? env.X402_ADMISSION_WAIT === "false"), registrationAccount: registration.account };

  const log = jsonLogger({ component: "controller", identity });
  const client = kubeClient(await loadClusterAccess(values.kubeconfig ?? env.KUBECONFIG), `x402-operator/${identity}`);
  const manager = await startManager({
    client, config, log, clock: systemClock, identity, listen, concurrency, stopping: untilSignal(),
    lease: leaderElect ? { namespace: leaseNamespace, name: leaseName } : undefined,
    probe: { mode: probeMode, intervalMs: probeIntervalMs, timeoutMs: probeTimeoutMs },
    registryFor: registration.registryFor,
  });
  await manager.done;
  return 0;
}
