// The ERC-8004 Identity Registry as the registrar reads and writes it, over viem: what the
// chain shows of one offer's registration (every read of a round pinned to one block), and
// the three writes (register, setAgentURI, setMetadata). Anything the RPC says is input: only
// logs of the registry itself, still on the chain, count.
import { type Account, createPublicClient, createWalletClient, defineChain, type Hex, http, parseAbi, parseAbiItem, type PublicClient, toHex, type WalletClient } from "viem";
import type { ChainView, RegistrationBook } from "../core/registration-plan.ts";

export const IDENTITY_REGISTRY_ABI = parseAbi([
  "function register(string agentURI) returns (uint256)",
  "function setAgentURI(uint256 agentId, string newURI)",
  "function setMetadata(uint256 agentId, string metadataKey, bytes metadataValue)",
  "function getMetadata(uint256 agentId, string metadataKey) view returns (bytes)",
  "function tokenURI(uint256 tokenId) view returns (string)",
]);
const REGISTERED = parseAbiItem("event Registered(uint256 indexed agentId, string agentURI, address indexed owner)");

/** How far back an earlier registration is looked for when none was reserved (about 5 h on Base). */
export const LOOKBACK_BLOCKS = 10_000n;
/** Logs are read in spans of this many blocks (RPC providers cap a span). */
const SPAN = 10_000n;

export type RegistryError = { kind: "unreachable" | "refused"; message: string };

export function isRegistryError(error: unknown): error is RegistryError {
  return typeof error === "object" && error !== null && "kind" in error && ((error as RegistryError).kind === "unreachable" || (error as RegistryError).kind === "refused");
}

export type IdentityRegistry = {
  readonly address: `0x${string}`;
  readonly signer?: `0x${string}`;
  view(input: { agentId?: string; book: RegistrationBook; uri: string; metadataKeys: string[] }): Promise<ChainView>;
  /** Sends register(uri) at `nonce`; a node that already has it (or mined it) is not an error. */
  register(uri: string, nonce: number): Promise<void>;
  /** Sends, and waits for it to be mined. */
  setAgentUri(agentId: string, uri: string): Promise<string>;
  setMetadata(agentId: string, key: string, value: string): Promise<string>;
};

export function identityRegistry(options: { rpcUrl: string; chainId: number; address: `0x${string}`; account?: Account; timeoutMs?: number }): IdentityRegistry {
  const chain = defineChain({ id: options.chainId, name: `eip155:${options.chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [options.rpcUrl] } } });
  const transport = http(options.rpcUrl, { timeout: options.timeoutMs ?? 10_000, retryCount: 0 });
  const reader = createPublicClient({ chain, transport }) as PublicClient;
  const wallet: WalletClient | undefined = options.account ? createWalletClient({ chain, transport, account: options.account }) : undefined;
  const { address } = options;

  /** Registered events of `uri` in [from, to], by `owner` when given. */
  async function registrations(uri: string, owner: `0x${string}` | undefined, from: bigint, to: bigint) {
    for (let start = from; start <= to; start += SPAN) {
      const end = start + SPAN - 1n < to ? start + SPAN - 1n : to;
      const logs = await reader.getLogs({ address, event: REGISTERED, args: owner ? { owner } : {}, fromBlock: start, toBlock: end });
      const ours = logs.find((l) => !l.removed && l.address.toLowerCase() === address.toLowerCase() && l.args.agentURI === uri && l.transactionHash);
      if (ours) return { agentId: String(ours.args.agentId), transaction: ours.transactionHash! };
    }
    return undefined;
  }

  const mined = async (hash: Hex) => {
    const receipt = await reader.waitForTransactionReceipt({ hash, timeout: options.timeoutMs ?? 60_000 });
    if (receipt.status !== "success") throw { kind: "refused", message: `transaction ${hash} reverted` } satisfies RegistryError;
    return hash;
  };

  return {
    address,
    signer: options.account?.address,
    view: (input) => guarded(async () => {
      const head = await reader.getBlock({ blockTag: "latest" });
      const blockNumber = head.number;
      if (input.agentId !== undefined) {
        const agentId = BigInt(input.agentId);
        const [agentUri, ...values] = await Promise.all([
          reader.readContract({ address, abi: IDENTITY_REGISTRY_ABI, functionName: "tokenURI", args: [agentId], blockNumber }),
          ...input.metadataKeys.map((key) => reader.readContract({ address, abi: IDENTITY_REGISTRY_ABI, functionName: "getMetadata", args: [agentId, key], blockNumber })),
        ]);
        const metadata = Object.fromEntries(input.metadataKeys.map((key, i) => [key, new TextDecoder().decode(hexBytes(values[i] as Hex))]));
        return { agentUri: agentUri as string, metadata };
      }
      const pending = input.book.pending;
      if (pending) {
        // The count and the logs at one block: a registration mined after the count is in the logs too.
        const account = pending.account as `0x${string}`;
        const minedNonce = await reader.getTransactionCount({ address: account, blockNumber });
        return { found: await registrations(input.book.uri ?? input.uri, account, BigInt(pending.fromBlock), blockNumber), minedNonce };
      }
      const from = blockNumber > LOOKBACK_BLOCKS ? blockNumber - LOOKBACK_BLOCKS : 0n;
      const found = await registrations(input.uri, options.account?.address, from, blockNumber);
      const nextNonce = options.account ? await reader.getTransactionCount({ address: options.account.address, blockTag: "pending" }) : undefined;
      return { found, nextNonce, block: String(blockNumber) };
    }),
    register: (uri, nonce) => guarded(async () => {
      if (!wallet) throw { kind: "refused", message: "no registration key" } satisfies RegistryError;
      try {
        await wallet.writeContract({ address, abi: IDENTITY_REGISTRY_ABI, functionName: "register", args: [uri], nonce, account: wallet.account!, chain });
      } catch (error) {
        // Already sent (or mined): that is the transaction we meant.
        if (/already known|nonce too low|nonce.*lower than/i.test(describe(error))) return;
        throw error;
      }
    }),
    setAgentUri: (agentId, uri) => guarded(async () => {
      if (!wallet) throw { kind: "refused", message: "no registration key" } satisfies RegistryError;
      return mined(await wallet.writeContract({ address, abi: IDENTITY_REGISTRY_ABI, functionName: "setAgentURI", args: [BigInt(agentId), uri], account: wallet.account!, chain }));
    }),
    setMetadata: (agentId, key, value) => guarded(async () => {
      if (!wallet) throw { kind: "refused", message: "no registration key" } satisfies RegistryError;
      return mined(await wallet.writeContract({ address, abi: IDENTITY_REGISTRY_ABI, functionName: "setMetadata", args: [BigInt(agentId), key, toHex(new TextEncoder().encode(value))], account: wallet.account!, chain }));
    }),
  };
}

/** Every failure as a RegistryError: a revert or refusal by the node is "refused", anything else "unreachable". */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isRegistryError(error)) throw error;
    const message = describe(error);
    throw { kind: /revert|insufficient funds|execution|denied|invalid/i.test(message) ? "refused" : "unreachable", message } satisfies RegistryError;
  }
}

function describe(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string; details?: string };
  return [e.shortMessage ?? e.message ?? String(error), e.details].filter(Boolean).join(": ").split("\n")[0]!;
}

function hexBytes(hex: Hex): Uint8Array {
  const digits = hex.slice(2);
  return Uint8Array.from({ length: digits.length / 2 }, (_, i) => parseInt(digits.slice(i * 2, i * 2 + 2), 16));
}
