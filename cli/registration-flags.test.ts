import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findNetwork, DEFAULT_NETWORKS } from "../core/networks.ts";
import { registrationFromFlags } from "./registration-flags.ts";

const baseSepolia = findNetwork(DEFAULT_NETWORKS, "base-sepolia")!;
const keyFile = (text: string) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "x402-key-")), "key");
  fs.writeFileSync(file, text);
  return file;
};

describe("registrationFromFlags", () => {
  it("reads the key's account and gives a registry for each network with an RPC and an ERC-8004 registry", () => {
    const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    const settings = registrationFromFlags({ "registration-rpc": ["base-sepolia=http://127.0.0.1:8545"], "registration-key-file": keyFile(`${key}\n`) }, {});
    expect(settings.account).toBe("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    expect(settings.registryFor(baseSepolia)).toMatchObject({ address: "0x8004A818BFB912233c491871b3d84c89A494BD9e", signer: settings.account });
    expect(settings.registryFor(findNetwork(DEFAULT_NETWORKS, "base")!)).toBeUndefined();
  });

  it("without a key: registries that only read (registrations made by others are recorded)", () => {
    const settings = registrationFromFlags({}, { X402_REGISTRATION_RPC: "base-sepolia=http://127.0.0.1:8545" });
    expect(settings.account).toBeUndefined();
    expect(settings.registryFor(baseSepolia)?.signer).toBeUndefined();
  });

  it("refuses a malformed RPC entry or key file, and never repeats the file's content", () => {
    expect(() => registrationFromFlags({ "registration-rpc": ["base-sepolia"] }, {})).toThrow(/NETWORK=/);
    const secret = "not-a-key-but-secret-text";
    let message = "";
    try {
      registrationFromFlags({ "registration-key-file": keyFile(secret) }, {});
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/32-byte hex key/);
    expect(message).not.toContain(secret);
  });
});
