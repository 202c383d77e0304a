// Where the verifier keeps replay reservations, from its flags: absent, in this process; else
// a Valkey/Redis store shared by every replica, with its password and CA read from files
// (mounted Secrets), never from the command line where `ps` would show them.
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { registerSecret } from "../adapters/log.ts";
import type { StoreOptions } from "../adapters/redis.ts";
import { UsageError } from "./config-flags.ts";

type Flags = { "replay-store"?: string; "replay-store-password-file"?: string; "replay-store-ca-file"?: string };

export async function replayStoreFromFlags(values: Flags, env: Record<string, string | undefined>): Promise<(StoreOptions & { replica: string }) | undefined> {
  const url = values["replay-store"] ?? env.X402_REPLAY_STORE;
  const passwordFile = values["replay-store-password-file"] ?? env.X402_REPLAY_STORE_PASSWORD_FILE;
  const caFile = values["replay-store-ca-file"] ?? env.X402_REPLAY_STORE_CA_FILE;
  if (url === undefined) {
    if (passwordFile || caFile) throw new UsageError("--replay-store-password-file and --replay-store-ca-file need --replay-store");
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError("--replay-store must be a URL: redis://host:port or rediss://host:port");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw new UsageError("--replay-store must start with redis:// or rediss:// (TLS)");
  if (parsed.password) throw new UsageError("--replay-store must not carry a password: give it with --replay-store-password-file");
  if (caFile && parsed.protocol !== "rediss:") throw new UsageError("--replay-store-ca-file needs a rediss:// (TLS) store");
  const password = passwordFile ? (await readSecretFile(passwordFile, "--replay-store-password-file")).trim() : undefined;
  registerSecret(password);
  const ca = caFile ? await readSecretFile(caFile, "--replay-store-ca-file") : undefined;
  return { url, password, ca, replica: replicaName(env) };
}

/**
 * Unique to this process, not only to its pod: a restarted pod keeps its name, and must not
 * vouch for what its previous life left in flight (that is for the others to resolve).
 */
export function replicaName(env: Record<string, string | undefined>): string {
  return `${env.POD_NAME || hostname()}/${randomBytes(6).toString("hex")}`;
}

async function readSecretFile(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
