import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replayStoreFromFlags, replicaName } from "./replay-store-flags.ts";

const dir = mkdtempSync(join(tmpdir(), "replay-store-flags-"));
const passwordFile = join(dir, "password");
writeFileSync(passwordFile, "s3cret-store-password\n");

describe("--replay-store", () => {
  it("keeps reservations in this process when no store is named", async () => {
    expect(await replayStoreFromFlags({}, {})).toBe(undefined);
  });

  it("reads the store, its password from a file and a replica name unique to this process", async () => {
    const store = await replayStoreFromFlags({ "replay-store": "redis://valkey.x402:6379" }, { X402_REPLAY_STORE_PASSWORD_FILE: passwordFile, POD_NAME: "x402-verifier-abc" });
    expect(store?.url).toBe("redis://valkey.x402:6379");
    expect(store?.password).toBe("s3cret-store-password");
    expect(store?.replica.startsWith("x402-verifier-abc/")).toBe(true);
    expect(replicaName({ POD_NAME: "p" }) === replicaName({ POD_NAME: "p" })).toBe(false);
  });

  it("refuses what would be unsafe or cannot work, naming the flag", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ "replay-store": "http://valkey:6379" }, /redis:\/\/ or rediss:\/\//],
      [{ "replay-store": "not a url" }, /must be a URL/],
      [{ "replay-store": "redis://:hunter22@valkey:6379" }, /--replay-store-password-file/],
      [{ "replay-store": "redis://valkey:6379", "replay-store-ca-file": passwordFile }, /needs a rediss:\/\//],
      [{ "replay-store-password-file": passwordFile }, /need --replay-store/],
      [{ "replay-store": "redis://valkey:6379", "replay-store-password-file": join(dir, "missing") }, /cannot read/],
    ];
    for (const [flags, message] of cases) await expect(replayStoreFromFlags(flags, {})).rejects.toThrow(message);
  });
});
