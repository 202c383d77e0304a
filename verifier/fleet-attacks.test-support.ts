// Fixtures for fleet-attacks.test.ts: verifier "replicas" (each its own store connection, its
// own redisReplayGuard under its own name, its own VerifierDeps) sharing one real redis-server,
// a raw client for writing into the store behind the verifier's back, a TCP proxy that can cut
// one replica off the store (a network partition), and small timing helpers. Imported by tests only.
import { Buffer } from "node:buffer";
import net from "node:net";
import { Valkey } from "iovalkey";
import { connectStore, type Store } from "../adapters/redis.ts";
import type { Answer } from "./answer.ts";
import type { Mode, VerifierDeps } from "./deps.ts";
import { decidePayment } from "./paid-request.ts";
import type { ReplayGuard } from "./replay-guard.ts";
import { redisReplayGuard, type RedisReplayGuard } from "./redis-replay-guard.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import type { Facilitator } from "./x402/facilitator.ts";
import { pricedRoute, quiet, signedPayment, verifierDeps } from "./test-support.ts";

export const RESOURCE = "https://api.example.com/services/llm/v1/chat";
export const ROUTE = pricedRoute();

export type ReplicaOptions = {
  facilitator: Facilitator;
  mode?: Mode;
  /** The store's address for this replica (a proxy in front of redis, say); the fleet's by default. */
  url?: string;
  password?: string;
  commandTimeoutMs?: number;
  retryEveryMs?: number;
  answerTimeoutMs?: number;
  /** Wait until the store answers before returning (default true). */
  connect?: boolean;
  overrides?: Partial<VerifierDeps>;
};

export type Replica = {
  name: string;
  store: Store;
  guard: RedisReplayGuard;
  deps: VerifierDeps;
  /** decidePayment for a v1 X-PAYMENT header on `route` (the default route unless given). */
  decide(header: string, route?: PricedRoute): Promise<Answer>;
  /** Gone: its liveness key is deleted (as a graceful stop does, or 15 s after a crash). */
  die(): Promise<void>;
};

/** Replicas on one store; closeAll() closes every one opened, whatever state the test left it in. */
export function fleet(url: () => string) {
  const opened: Replica[] = [];
  let counter = 0;
  let raw: Valkey | undefined;
  return {
    async replica(options: ReplicaOptions, name = `replica-${++counter}-${Math.random().toString(16).slice(2, 8)}`): Promise<Replica> {
      const store = connectStore({ url: options.url ?? url(), password: options.password, commandTimeoutMs: options.commandTimeoutMs ?? 500 });
      const guard = redisReplayGuard({ store, replica: name, log: quiet, retryEveryMs: options.retryEveryMs ?? 50 });
      const deps = verifierDeps(options.facilitator, { guard, mode: options.mode ?? "settle", answerTimeoutMs: options.answerTimeoutMs ?? 5000, ...options.overrides });
      let closed = false;
      const replica: Replica = {
        name,
        store,
        guard,
        deps,
        decide: async (header, route = ROUTE) => (await decidePayment(route, RESOURCE, header, 1, deps)).answer,
        async die() {
          if (closed) return;
          closed = true;
          await guard.close!();
        },
      };
      opened.push(replica);
      if (options.connect ?? true) {
        await connected(guard);
        // Its first heartbeat: until then a reservation naming it would read as orphaned.
        raw ??= rawClient(url());
        const beating = raw;
        if (!(await eventually(async () => (await beating.exists(`x402:live:${name}`)) === 1))) throw new Error(`${name} never beat`);
      }
      return replica;
    },
    async closeAll() {
      raw?.disconnect();
      raw = undefined;
      for (const r of opened.splice(0)) {
        await r.die().catch(() => undefined);
        await r.store.close().catch(() => undefined);
      }
    },
  };
}

/** Until the guard's store answers (a new connection takes a few ms). */
export async function connected(guard: ReplayGuard, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await guard.peek("probe", 1n).then(() => true, () => false)) return;
    await sleep(20);
  }
  throw new Error("the store never became reachable");
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; false when it never did within `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(20);
  }
  return await check();
}

export type Gate<T> = { promise: Promise<T>; open(value: T): void; reached: Promise<void>; arrive(): void };

/** A promise the test resolves, and a signal that the code under test reached it. */
export function gate<T>(): Gate<T> {
  let open!: (value: T) => void;
  let arrive!: () => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return { promise, open, reached, arrive };
}

let nonces = 4000 + Math.floor(Math.random() * 1000) * 1000;
/** A fresh nonce for a payment no other test uses. */
export const freshNonce = () => ++nonces;

/** A signed v1 payment (the buyer's, base-sepolia USDC, 0.001) under a nonce of its own. */
export async function payment(nonce = freshNonce(), overrides: Record<string, string> = {}): Promise<{ header: string; nonce: number; key: string }> {
  const header = await signedPayment(overrides, { nonce });
  return { header, nonce, key: holdKeyOf(header) };
}

/** The store key of a v1 EIP-3009 payment's reservation (chain 84532, base-sepolia). */
export function holdKeyOf(header: string): string {
  const body = JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  const a = body.payload.authorization;
  return `x402:hold:84532:eip3009:${String(a.from).toLowerCase()}:${String(a.nonce).toLowerCase()}`;
}

/** The same payment with its signature replaced (an ERC-6492 wrapper of any length, say). */
export function withSignature(header: string, signature: string): string {
  const body = JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  body.payload.signature = signature;
  return Buffer.from(JSON.stringify(body)).toString("base64");
}

/** A client that writes straight into the store, as anyone holding its password could. */
export function rawClient(url: string): Valkey {
  return new Valkey(url, { maxRetriesPerRequest: 0 });
}

/** SIGSTOP / SIGCONT: a store that stops answering without closing its connections. */
export function pause(pid: number | undefined): void {
  if (pid === undefined) throw new Error("redis is not running");
  process.kill(pid, "SIGSTOP");
}
export function resume(pid: number | undefined): void {
  if (pid !== undefined) process.kill(pid, "SIGCONT");
}

/** A TCP proxy to a local port; cut() drops every connection and refuses new ones until heal(). */
export async function tcpProxy(targetPort: number): Promise<{ url: string; cut(): void; heal(): void; close(): Promise<void> }> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let cutOff = false;
  const server = net.createServer((client) => {
    if (cutOff) return void client.destroy();
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const cut = () => {
    cutOff = true;
    for (const [a, b] of [...pairs]) (a.destroy(), b.destroy());
    pairs.clear();
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    cut,
    heal: () => void (cutOff = false),
    close: () => new Promise<void>((resolve) => (cut(), server.close(() => resolve()))),
  };
}

/** The error text of an answer's JSON body ("" when it has none). */
export function errorOf(answer: Answer): string {
  try {
    return String(JSON.parse(answer.body).error ?? "");
  } catch {
    return "";
  }
}
