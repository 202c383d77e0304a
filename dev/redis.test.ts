import fs from "node:fs";
import net from "node:net";
import { Valkey } from "iovalkey";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningRedis, startRedis } from "./redis.ts";

/** "connected", or the error code of a failed connection. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve("connected")));
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
  });
}

// One short-lived client per call: a client kept across restart() or kill() would reconnect
// on its own. No ready check: its INFO would fail unauthenticated as an unhandled error event.
async function withClient<T>(url: string, fn: (client: Valkey) => Promise<T>, options: { password?: string } = {}): Promise<T> {
  const client = new Valkey(url, { ...options, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

describe("redis-server for tests (Debian packages, cached)", () => {
  const started: RunningRedis[] = [];
  afterAll(async () => {
    for (const redis of started) await redis.stop();
  });

  // The first run downloads and unpacks the packages.
  it("keeps a key across a restart (AOF) and refuses connections once killed", async () => {
    const redis = await startRedis();
    started.push(redis);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await withClient(redis.url, (c) => c.set("greeting", "hello"))).toBe("OK");

    const before = redis.pid();
    await redis.restart(500);
    expect(redis.pid()).toBeGreaterThan(0);
    expect(redis.pid() === before).toBe(false);
    expect(await withClient(redis.url, (c) => c.get("greeting"))).toBe("hello");

    await redis.kill();
    expect(redis.pid()).toBeUndefined();
    expect(await connectOutcome(redis.port)).toBe("ECONNREFUSED");
    expect(fs.existsSync(redis.dir)).toBe(true); // a crash keeps the data for a restart

    await redis.stop();
    expect(fs.existsSync(redis.dir)).toBe(false);
  }, 60_000);

  it("with a password, is ready while refusing unauthenticated commands", async () => {
    const redis = await startRedis({ password: "s3cret", appendOnly: false });
    started.push(redis);
    const anonymous = await withClient(redis.url, (c) => c.ping().then(String, (error: Error) => error.message));
    expect(anonymous).toMatch(/^NOAUTH/);
    expect(await withClient(redis.url, (c) => c.ping(), { password: "s3cret" })).toBe("PONG");
  }, 60_000);
});
