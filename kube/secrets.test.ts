import { Buffer } from "node:buffer";
import { afterEach, describe, expect, it } from "vitest";
import { kubeClient } from "./client.ts";
import { isKubeError } from "./errors.ts";
import { readSecret } from "./secrets.ts";
import { startTestApiServer } from "./test-server.ts";

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => void await Promise.all(servers.splice(0).map((s) => s.close())));

describe("readSecret", () => {
  it("decodes every key, and says undefined for a Secret that does not exist", async () => {
    const server = await startTestApiServer(({ path }) =>
      path === "/api/v1/namespaces/llm/secrets/keys"
        ? { body: { data: { KEY: Buffer.from("sk-1\n").toString("base64"), EMPTY: "" } } }
        : { status: 404, body: { kind: "Status", reason: "NotFound", code: 404 } }
    );
    servers.push(server);
    const client = kubeClient(server.kubeConfig);
    expect(await readSecret(client, "llm", "keys")).toEqual({ KEY: "sk-1\n", EMPTY: "" });
    expect(await readSecret(client, "llm", "gone")).toBeUndefined();
  });

  it("throws what is not an absence: the caller decides whether a cached value may serve", async () => {
    const server = await startTestApiServer(() => ({ status: 403, body: { kind: "Status", reason: "Forbidden", code: 403 } }));
    servers.push(server);
    const error = await readSecret(kubeClient(server.kubeConfig), "llm", "keys").catch((e: unknown) => e);
    expect(isKubeError(error, "forbidden")).toBe(true);
  });
});
