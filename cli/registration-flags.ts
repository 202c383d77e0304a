// The controller's ERC-8004 registration settings: which chains it may read and write (an
// RPC per network) and the key it registers with (a file, as a mounted Secret gives it).
// Without a key it still records registrations others make of each offer's URI.
import { readFileSync } from "node:fs";
import { privateKeyToAccount } from "viem/accounts";
import { IDENTITY_REGISTRIES } from "../core/agent-registration.ts";
import type { Network } from "../core/networks.ts";
import { identityRegistry, type IdentityRegistry } from "../controller/identity-registry.ts";
import { UsageError } from "./config-flags.ts";

export const REGISTRATION_OPTIONS = {
  "registration-rpc": { type: "string", multiple: true },
  "registration-key-file": { type: "string" },
} as const;

export const REGISTRATION_HELP = `      --registration-rpc NETWORK=URL  an RPC of a network whose ERC-8004 registry offers
                              register on (repeatable; env X402_REGISTRATION_RPC, comma-separated)
      --registration-key-file FILE  the key that registers offers (a Secret's file; env
                              X402_REGISTRATION_KEY_FILE); without one, registrations made by
                              others are recorded (Registered=False AwaitingExternalRegistration)
`;

type Flags = { "registration-rpc"?: string[]; "registration-key-file"?: string };

export type RegistrationSettings = { account?: `0x${string}`; registryFor(network: Network): IdentityRegistry | undefined };

export function registrationFromFlags(flags: Flags, env: Record<string, string | undefined>): RegistrationSettings {
  const entries = flags["registration-rpc"] ?? (env.X402_REGISTRATION_RPC ? env.X402_REGISTRATION_RPC.split(",") : []);
  const rpcs = new Map<string, string>();
  for (const entry of entries) {
    const at = entry.indexOf("=");
    const url = entry.slice(at + 1);
    if (at < 1 || !/^https?:\/\/\S+$/.test(url)) throw new UsageError(`--registration-rpc must be NETWORK=http(s)://..., got "${entry}"`);
    rpcs.set(entry.slice(0, at), url);
  }
  const keyFile = flags["registration-key-file"] ?? env.X402_REGISTRATION_KEY_FILE;
  let account: ReturnType<typeof privateKeyToAccount> | undefined;
  if (keyFile !== undefined) {
    const key = readFileSync(keyFile, "utf8").trim();
    // The key itself is never part of an error or a log line.
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new UsageError(`--registration-key-file ${keyFile} must hold one 0x-prefixed 32-byte hex key`);
    account = privateKeyToAccount(key as `0x${string}`);
  }
  const registries = new Map<string, IdentityRegistry>();
  return {
    account: account?.address,
    registryFor(network) {
      const rpcUrl = rpcs.get(network.name);
      const address = IDENTITY_REGISTRIES[network.chainId];
      if (!rpcUrl || !address) return undefined;
      let registry = registries.get(network.name);
      if (!registry) registries.set(network.name, registry = identityRegistry({ rpcUrl, chainId: network.chainId, address, account }));
      return registry;
    },
  };
}
