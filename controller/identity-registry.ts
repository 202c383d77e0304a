// The ERC-8004 Identity Registry as the registrar reads and writes it, over viem: what the
// chain shows of one offer's registration, a register transaction signed (to be recorded)
// and broadcast apart, and the two updates (setAgentURI, setMetadata). Anything the RPC says is input: only
// logs of the registry itself, still on the chain, count.
import {
  type Account, createPublicClient, createWalletClient, decodeFunctionData, defineChain, encodeFunctionData, type Hex, hexToBytes, http, keccak256, parseAbi, parseAbiItem,
  parseEventLogs, parseTransaction, type PublicClient, recoverTransactionAddress, toHex, type TransactionSerialized, type WalletClient,
} from "viem";
import { sameAddress } from "../core/pay-to.ts";
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
  /** `uri`: the agentURI the offer registers (never one its status names: that is anyone's to write). */
  view(input: { agentId?: string; book: RegistrationBook; uri: string; metadataKeys: string[] }): Promise<ChainView>;
  /** Signs register(uri) at `nonce` (nothing is sent): its hash and bytes, to record before broadcasting. */
  sign(uri: string, nonce: number): Promise<{ transaction: string; raw: string }>;
  /** The signer's next nonce as the node counts it (pending transactions included). */
  pendingNonce(): Promise<number>;
  /** Broadcasts signed bytes; a node that already has them (or mined them) is not an error. */
  broadcast(raw: string): Promise<void>;
  /** Sends, and waits for it to be mined. */
  setAgentUri(agentId: string, uri: string, nonce: number): Promise<string>;
  setMetadata(agentId: string, key: string, value: string, nonce: number): Promise<string>;
};

export function identityRegistry(options: { rpcUrl: string; chainId: number; address: `0x${string}`; account?: Account; timeoutMs?: number }): IdentityRegistry {
  const chain = defineChain({ id: options.chainId, name: `eip155:${options.chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [options.rpcUrl] } } });
  const transport = http(options.rpcUrl, { timeout: options.timeoutMs ?? 10_000, retryCount: 0 });
  const reader = createPublicClient({ chain, transport }) as PublicClient;
  const wallet: WalletClient | undefined = options.account ? createWalletClient({ chain, transport, account: options.account }) : undefined;
  const { address } = options;
  const signer = options.account?.address;
  const walletOrRefuse = () => {
    if (!wallet) throw { kind: "refused", message: "no registration key" } satisfies RegistryError;
    return wallet;
  };

  /** The Registered event of `uri` in the last LOOKBACK_BLOCKS, by `owner` when given. */
  async function earlier(uri: string, owner: `0x${string}` | undefined, head: bigint) {
    const from = head > LOOKBACK_BLOCKS ? head - LOOKBACK_BLOCKS : 0n;
    for (let start = from; start <= head; start += SPAN) {
      const end = start + SPAN - 1n < head ? start + SPAN - 1n : head;
      const logs = await reader.getLogs({ address, event: REGISTERED, args: owner ? { owner } : {}, fromBlock: start, toBlock: end });
      const match = logs.find((l) => !l.removed && sameAddress(l.address, address) && l.args.agentURI === uri && l.transactionHash && l.args.agentId !== undefined);
      if (match) return { agentId: String(match.args.agentId), transaction: match.transactionHash! };
    }
    return undefined;
  }

  /**
   * What became of the recorded transaction: registered `uri` (mined no later than `safe`), spent
   * without registering it (reverted, or a transaction of something else, written into the status by hand), or not mined.
   */
  async function receiptOf(hash: Hex, safe: bigint, uri: string): Promise<ChainView["sent"]> {
    const receipt = await reader.getTransactionReceipt({ hash }).catch((error) => {
      if ((error as { name?: string }).name === "TransactionReceiptNotFoundError") return undefined;
      throw error;
    });
    if (!receipt || receipt.blockNumber > safe) return { status: "unmined" };
    if (receipt.status !== "success") return { status: "reverted" };
    const event = parseEventLogs({ abi: [REGISTERED], logs: receipt.logs.filter((l) => sameAddress(l.address, address)) }).find((e) => e.args.agentURI === uri);
    return event ? { status: "registered", agentId: String(event.args.agentId), transaction: hash } : { status: "reverted" };
  }

  /** Whether `raw` is register(uri) at `nonce` on this registry, signed by our key, and hashes to `hash`. */
  async function isOurs(raw: string, hash: string, nonce: number, uri: string): Promise<boolean> {
    if (!signer || !/^0x[0-9a-fA-F]+$/.test(raw) || keccak256(raw as Hex) !== hash) return false;
    try {
      const parsed = parseTransaction(raw as Hex);
      if (parsed.nonce !== nonce || !parsed.to || !sameAddress(parsed.to, address) || !parsed.data) return false;
      const call = decodeFunctionData({ abi: IDENTITY_REGISTRY_ABI, data: parsed.data });
      if (call.functionName !== "register" || call.args[0] !== uri) return false;
      return sameAddress(await recoverTransactionAddress({ serializedTransaction: raw as TransactionSerialized }), signer);
    } catch {
      return false;
    }
  }

  const mined = async (hash: Hex) => {
    const receipt = await reader.waitForTransactionReceipt({ hash, timeout: options.timeoutMs ?? 60_000 });
    if (receipt.status !== "success") throw { kind: "refused", message: `transaction ${hash} reverted` } satisfies RegistryError;
    return hash;
  };

  return {
    address,
    signer,
    view: (input) => guarded(async () => {
      if (input.agentId !== undefined) {
        if (!/^\d{1,78}$/.test(input.agentId)) throw { kind: "refused", message: `status.agentId ${JSON.stringify(input.agentId.slice(0, 80))} is not an agent id` } satisfies RegistryError;
        const agentId = BigInt(input.agentId);
        const { number: blockNumber } = await reader.getBlock({ blockTag: "latest" });
        const [agentUri, ...values] = await Promise.all([
          reader.readContract({ address, abi: IDENTITY_REGISTRY_ABI, functionName: "tokenURI", args: [agentId], blockNumber }),
          ...input.metadataKeys.map((key) => reader.readContract({ address, abi: IDENTITY_REGISTRY_ABI, functionName: "getMetadata", args: [agentId, key], blockNumber })),
        ]);
        const metadata = Object.fromEntries(input.metadataKeys.map((key, i) => [key, new TextDecoder().decode(hexToBytes(values[i] as Hex))]));
        return { agentUri: agentUri as string, metadata };
      }
      const pending = input.book.pending;
      if (pending) {
        // The count at a block that will not be reorganized first, then the receipt: a transaction
        // mined by then is found by its receipt, so "mined past it without it" is never a race.
        const { number: safe } = await reader.getBlock({ blockTag: "safe" });
        const minedNonce = await reader.getTransactionCount({ address: pending.account as `0x${string}`, blockNumber: safe });
        const sent = await receiptOf(pending.transaction as Hex, safe, input.uri);
        return { minedNonce, sent, rawIsOurs: await isOurs(pending.raw, pending.transaction, pending.nonce, input.uri) };
      }
      const { number: head } = await reader.getBlock({ blockTag: "latest" });
      const found = await earlier(input.uri, signer, head);
      const nextNonce = signer ? await reader.getTransactionCount({ address: signer, blockTag: "pending" }) : undefined;
      return { found, nextNonce };
    }),
    sign: (uri, nonce) => guarded(async () => {
      const w = walletOrRefuse();
      const request = await w.prepareTransactionRequest({ account: w.account!, chain, to: address, data: encodeFunctionData({ abi: IDENTITY_REGISTRY_ABI, functionName: "register", args: [uri] }), nonce });
      const raw = await w.signTransaction(request as never);
      return { transaction: keccak256(raw), raw };
    }),
    pendingNonce: () => guarded(async () => await reader.getTransactionCount({ address: walletOrRefuse().account!.address, blockTag: "pending" })),
    broadcast: (raw) => guarded(async () => {
      try {
        await reader.sendRawTransaction({ serializedTransaction: raw as TransactionSerialized });
      } catch (error) {
        // Already there (or mined): that is the transaction we meant.
        if (/already known|nonce too low|nonce.*lower than|known transaction/i.test(describe(error))) return;
        throw error;
      }
    }),
    setAgentUri: (agentId, uri, nonce) => guarded(async () => {
      const w = walletOrRefuse();
      return mined(await w.writeContract({ address, abi: IDENTITY_REGISTRY_ABI, functionName: "setAgentURI", args: [BigInt(agentId), uri], account: w.account!, chain, nonce }));
    }),
    setMetadata: (agentId, key, value, nonce) => guarded(async () => {
      const w = walletOrRefuse();
      return mined(await w.writeContract({ address, abi: IDENTITY_REGISTRY_ABI, functionName: "setMetadata", args: [BigInt(agentId), key, toHex(new TextEncoder().encode(value))], account: w.account!, chain, nonce }));
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
