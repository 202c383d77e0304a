// A Valkey/Redis connection for state several processes share (the verifier fleet's replay
// reservations). Fail fast rather than queue: a command sent while the store is away fails at
// once (StoreError "unreachable"), so its caller can answer 503 instead of holding a buyer's
// request; the connection heals by itself in the background.
import { createHash } from "node:crypto";
import { Valkey } from "iovalkey";

export type StoreOptions = {
  /** redis://[user@]host:port[/db] or rediss:// (TLS). */
  url: string;
  password?: string;
  /** PEM bundle to trust for rediss:// (a private CA). */
  ca?: string;
  /** How long one command may take before the store counts as unreachable. */
  commandTimeoutMs?: number;
  onStatus?(status: "ready" | "lost", detail: string): void;
};

/** unreachable: not connected, timed out or cut off; refused: the store answered with an error (auth, scripting disabled, ...). */
export class StoreError extends Error {
  override name = "StoreError";
  readonly kind: "unreachable" | "refused";
  constructor(kind: "unreachable" | "refused", message: string) {
    super(message);
    this.kind = kind;
  }
}

export type Script = { lua: string; sha: string; keys: number };

export function script(lua: string, keys: number): Script {
  return { lua, sha: createHash("sha1").update(lua).digest("hex"), keys };
}

export type Store = {
  /** Runs a Lua script atomically (EVALSHA, loading it on first use). */
  run(script: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /** SET key value PX ms. */
  setFor(key: string, value: string, ms: number): Promise<void>;
  del(key: string): Promise<void>;
  ready(): boolean;
  close(): Promise<void>;
};

export function connectStore(options: StoreOptions): Store {
  const tls = options.url.startsWith("rediss:") ? (options.ca ? { ca: options.ca } : {}) : undefined;
  const client = new Valkey(options.url, {
    password: options.password,
    tls,
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    connectTimeout: 2000,
    // Keep trying, never more than a second apart: service resumes by itself once the store is back.
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    enableReadyCheck: true,
  });
  // Said once per change, not once per reconnection attempt.
  let lastError = "";
  let up = false;
  client.on("ready", () => {
    up = true;
    options.onStatus?.("ready", "connected");
  });
  client.on("error", (error: Error) => {
    lastError = error.message;
  });
  client.on("close", () => {
    if (up) options.onStatus?.("lost", lastError || "connection closed");
    up = false;
  });
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw asStoreError(error);
    }
  };
  return {
    run: (s, keys, args) =>
      guarded(async () => {
        try {
          return await client.evalsha(s.sha, s.keys, ...keys, ...args);
        } catch (error) {
          if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
          return await client.eval(s.lua, s.keys, ...keys, ...args);
        }
      }),
    setFor: (key, value, ms) => guarded(async () => void await client.set(key, value, "PX", ms)),
    del: (key) => guarded(async () => void await client.del(key)),
    ready: () => client.status === "ready",
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

function asStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // The store's own error replies come as ReplyError; everything else is the connection's.
  const refused = error instanceof Error && error.name === "ReplyError";
  return new StoreError(refused ? "refused" : "unreachable", message);
}
