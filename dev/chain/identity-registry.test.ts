// ERC-8004's Identity Registry on the test chain, driven through the public interface (the
// ABI below is EIP-8004's, not our compiled one): what the controller's registration will
// rely on, from register's Registered event to the log search that finds an earlier one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPublicClient, createWalletClient, decodeEventLog, http, parseAbi, toEventSelector, toFunctionSelector, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type Chain, IDENTITY_REGISTRY_ADDRESS, startChain } from "./chain.ts";

const ERC8004 = parseAbi([
  "function register(string agentURI) returns (uint256 agentId)",
  "function setAgentURI(uint256 agentId, string newURI)",
  "function setMetadata(uint256 agentId, string metadataKey, bytes metadataValue)",
  "function getMetadata(uint256 agentId, string metadataKey) view returns (bytes)",
  "function getAgentWallet(uint256 agentId) view returns (address)",
  "function tokenURI(uint256 tokenId) view returns (string)",
  "function ownerOf(uint256 tokenId) view returns (address)",
  "event Registered(uint256 indexed agentId, string agentURI, address indexed owner)",
  "event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy)",
  "event MetadataSet(uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue)",
]);

describe("ERC-8004 Identity Registry on the test chain", () => {
  let chain: Chain;
  let reader: ReturnType<typeof createPublicClient>;
  const wallet = (i: number) => createWalletClient({ account: privateKeyToAccount(chain.accounts[i]!.privateKey), chain: chain.viemChain, transport: http(chain.rpcUrl) });
  const registry = { address: IDENTITY_REGISTRY_ADDRESS, abi: ERC8004 } as const;
  async function sent(hash: `0x${string}`) {
    const receipt = await reader.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    return receipt;
  }
  const register = async (i: number, uri: string) => {
    const receipt = await sent(await wallet(i).writeContract({ ...registry, functionName: "register", args: [uri] }));
    const log = receipt.logs.find((l) => l.topics[0] === toEventSelector("Registered(uint256,string,address)"))!;
    return decodeEventLog({ abi: ERC8004, ...log, eventName: "Registered" }).args;
  };

  beforeAll(async () => {
    chain = await startChain();
    reader = createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl), pollingInterval: 50 });
  }, 120_000);
  afterAll(async () => await chain?.stop());

  it("sits at the Base Sepolia address and answers every function of the interface by its standard selector", () => {
    expect(chain.identityRegistry.address).toBe("0x8004A818BFB912233c491871b3d84c89A494BD9e");
    const ours = new Set(chain.identityRegistry.abi.filter((item) => item.type === "function").map((item) => toFunctionSelector(item)));
    for (const item of ERC8004.filter((item) => item.type === "function")) expect(ours.has(toFunctionSelector(item))).toBe(true);
    expect(toFunctionSelector(ERC8004[0])).toBe("0xf2c298be");
  });

  it("registers agents from id 0, each owned by its registrant, its URI the token URI, its wallet the registrant", async () => {
    const first = await register(2, "https://seller.example/.well-known/agent-registration.json");
    const second = await register(3, "https://other.example/.well-known/agent-registration.json");
    expect(second.agentId).toBe(first.agentId + 1n);
    expect(first.owner).toBe(chain.accounts[2]!.address);
    expect(await reader.readContract({ ...registry, functionName: "ownerOf", args: [first.agentId] })).toBe(chain.accounts[2]!.address);
    expect(await reader.readContract({ ...registry, functionName: "tokenURI", args: [first.agentId] })).toBe("https://seller.example/.well-known/agent-registration.json");
    expect(await reader.readContract({ ...registry, functionName: "getAgentWallet", args: [first.agentId] })).toBe(chain.accounts[2]!.address);
  });

  it("finds an agent's earlier registration from the chain's logs, by owner and URI", async () => {
    const uri = `https://logs.example/${Date.now()}/.well-known/agent-registration.json`;
    const registered = await register(4, uri);
    const logs = await reader.getLogs({ address: IDENTITY_REGISTRY_ADDRESS, event: ERC8004[7], args: { owner: chain.accounts[4]!.address }, fromBlock: 0n });
    expect(logs.filter((l) => l.args.agentURI === uri).map((l) => l.args.agentId)).toEqual([registered.agentId]);
  });

  it("lets only the owner change the URI and metadata; the agent wallet key is reserved", async () => {
    const { agentId } = await register(5, "https://a.example/.well-known/agent-registration.json");
    await expect(wallet(6).writeContract({ ...registry, functionName: "setAgentURI", args: [agentId, "https://evil.example"] })).rejects.toThrow(/not authorized/);
    await expect(wallet(6).writeContract({ ...registry, functionName: "setMetadata", args: [agentId, "x402.supported", "0x01"] })).rejects.toThrow(/not authorized/);
    await sent(await wallet(5).writeContract({ ...registry, functionName: "setAgentURI", args: [agentId, "data:application/json;base64,e30="] }));
    expect(await reader.readContract({ ...registry, functionName: "tokenURI", args: [agentId] })).toBe("data:application/json;base64,e30=");
    await sent(await wallet(5).writeContract({ ...registry, functionName: "setMetadata", args: [agentId, "x402.supported", "0x01"] }));
    expect(await reader.readContract({ ...registry, functionName: "getMetadata", args: [agentId, "x402.supported"] })).toBe("0x01");
    expect(await reader.readContract({ ...registry, functionName: "getMetadata", args: [agentId, "never.set"] })).toBe("0x");
    await expect(wallet(5).writeContract({ ...registry, functionName: "setMetadata", args: [agentId, "agentWallet", toHex("0x00")] })).rejects.toThrow(/reserved key/);
  });
});
