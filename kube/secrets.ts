// Reading a Secret's data, decoded. Both the verifier's upstream credentials and its
// settlement key come from here; the values are never logged by this module.
import { Buffer } from "node:buffer";
import type { KubeClient } from "./client.ts";
import { isKubeError } from "./errors.ts";
import { RESOURCES, resourcePath } from "./resources.ts";

/** The Secret's keys and decoded values, or undefined when there is no such Secret. Other failures throw (KubeApiError). */
export async function readSecret(client: KubeClient, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  let secret: { data?: Record<string, string> };
  try {
    secret = await client.request<{ data?: Record<string, string> }>("GET", resourcePath(RESOURCES.Secret, namespace, name));
  } catch (error) {
    if (isKubeError(error, "not-found")) return undefined;
    throw error;
  }
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) decoded[key] = Buffer.from(value, "base64").toString("utf8");
  return decoded;
}
