// What the verifier's decisions run on (routes, facilitator, guard, clock, budget, log), and
// what a decision is: one place, so forward-auth and paid-request share it without
// importing each other.
import type { Logger } from "../adapters/log.ts";
import type { Network } from "../core/networks.ts";
import type { Slots } from "../adapters/slots.ts";
import type { Answer } from "./answer.ts";
import type { VerifierMetrics } from "./metrics.ts";
import type { ReplayGuard } from "./replay-guard.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import type { RouteTable } from "./routes/table.ts";
import type { Credentials } from "./upstream-secrets.ts";
import type { Facilitator } from "./x402/facilitator.ts";

export type Mode = "settle" | "verify-only";

export type VerifierDeps = {
  routes(): RouteTable<PricedRoute>;
  /** The admitted route of the PaymentRoute "namespace/name", for requests that name theirs. */
  routeByKey?(key: string): PricedRoute | undefined;
  /** False until the first route table is loaded: until then no path is known to be free. */
  ready?(): boolean;
  facilitator: Facilitator;
  guard: ReplayGuard;
  mode: Mode;
  nowSeconds(): bigint;
  /** The Authorization value to send upstream, from the route's Secret: none when it has none, or why it cannot be read. */
  upstreamAuthorization(route: PricedRoute): Promise<Credentials>;
  /** Whether the payer is a contract (a smart wallet may sign for it), read from a chain; absent when no chain can be read. */
  isContract?(network: Network, address: `0x${string}`): Promise<boolean>;
  /** The account that settles metered (upto) payments, named in their 402; absent: upto is not offered. */
  meteredSettler?(network: Network): `0x${string}` | undefined;
  /** The networks payments may name (DEFAULT_NETWORKS when absent): where a payment is held is read from them. */
  networks?: readonly Network[];
  /** One budget for a whole paid answer, under Traefik's fixed 30 s. */
  answerTimeoutMs?: number;
  /** Bounds the payments in progress at once. */
  slots?: Slots;
  log: Logger;
  metrics?: VerifierMetrics;
};

/**
 * settled: the payment was settled, but its "done" could not be recorded, so the answer says
 * 503 (the buyer's retry is served once from the chain). An answer already delivered (a metered
 * stream) still hands the buyer this receipt.
 */
export type Decision = { answer: Answer; route?: PricedRoute; settled?: { receipt: string } };
