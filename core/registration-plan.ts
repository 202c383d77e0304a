// The next step of an offer's ERC-8004 registration, decided from its status and what the
// chain shows; the registrar (controller/registrar.ts) runs one step per round and looks again.
// Never two registrations for one offer: before `register` is sent, the account nonce it is
// sent with (and the block it was read at) is recorded in the offer's status, so that after
// any restart or change of leader the same transaction is sent again (a nonce lands once), or
// found in the registry's logs from that block on, or seen passed by another transaction
// before a new nonce is taken. Pure: the chain and the clock are inputs.

/** `status.registration`: the registrar's bookkeeping, beside `status.agentId` and `registrationTxHash`. */
export type RegistrationBook = {
  /** The agentURI registered (or being registered). */
  uri?: string;
  /** A `register` sent, or about to be: by this account, at this nonce, read at this block. */
  pending?: { account: string; nonce: number; fromBlock: string };
  /** The agent's URI was set to its tombstone (the offer is being deleted). */
  tombstoned?: boolean;
};

export type RegistrationView = {
  agentId?: string;
  book: RegistrationBook;
};

/** What the chain shows, read for this round (by the registrar, in this order). */
export type ChainView = {
  /** The Registered event of this URI: by `pending.account` from `pending.fromBlock`, or an earlier one by the signer. */
  found?: { agentId: string; transaction: string };
  /** Transactions the pending account (or the signer) has mined. */
  minedNonce?: number;
  /** Transactions the signer has sent, pending ones included: the next nonce to take. */
  nextNonce?: number;
  /** The latest block, where a new reservation's search begins. */
  block?: string;
  /** The agent's URI on chain, when its id is known. */
  agentUri?: string;
  /** Its metadata values on chain, by key, for the keys the offer sets. */
  metadata?: Record<string, string>;
};

export type RegistrationStep =
  /** Nothing to do: registered and up to date (or tombstoned). */
  | { kind: "idle" }
  /** Found on chain: record agentId and the transaction; the reservation goes. */
  | { kind: "record"; agentId: string; transaction: string; uri: string }
  /** Record this nonce before anything is sent. */
  | { kind: "reserve"; pending: NonNullable<RegistrationBook["pending"]>; uri: string }
  /** Send register(uri) at the recorded nonce (again, if it was sent before: it lands once). */
  | { kind: "send"; nonce: number; uri: string }
  /** The recorded nonce went to another transaction and nothing registered this URI: take a new one. */
  | { kind: "release" }
  /** The agent's URI or a metadata value differs from the offer's: one write each. */
  | { kind: "update-uri"; agentId: string; uri: string }
  | { kind: "update-metadata"; agentId: string; key: string; value: string }
  /** Without a key: wait for someone to register the URI; found, it is recorded. */
  | { kind: "await-external"; uri: string }
  /** A registration reserved by a key this registrar no longer has: wait until it lands or its nonce passes. */
  | { kind: "await-other-key"; pending: NonNullable<RegistrationBook["pending"]> }
  /** Being deleted, and the agent's URI on chain is its tombstone: say so, and let the offer go. */
  | { kind: "mark-tombstoned" };

export type PlanInput = {
  view: RegistrationView;
  chain: ChainView;
  /** The signing account, if the registrar has a key. */
  signer?: string;
  /** The agentURI the offer should have on chain (live) or its tombstone (being deleted). */
  uri: string;
  metadata: Record<string, string>;
  deleting: boolean;
};

export function planRegistration({ view, chain, signer, uri, metadata, deleting }: PlanInput): RegistrationStep {
  const { agentId, book } = view;
  if (agentId === undefined) {
    // Being deleted and never registered: nothing to tombstone, unless a registration is in flight.
    if (chain.found) return { kind: "record", ...chain.found, uri: book.pending ? book.uri ?? uri : uri };
    const pending = book.pending;
    if (pending) {
      if (chain.minedNonce === undefined) return { kind: "idle" };
      // Mined past the nonce and no Registered of this URI since: it went to another transaction.
      if (chain.minedNonce > pending.nonce) return { kind: "release" };
      // Sent by another key (rotated since): it may still land, and only that key can send it again.
      if (signer === undefined || !sameAccount(signer, pending.account)) return { kind: "await-other-key", pending };
      return { kind: "send", nonce: pending.nonce, uri: book.uri ?? uri };
    }
    if (deleting) return { kind: "idle" };
    if (signer === undefined) return { kind: "await-external", uri };
    if (chain.nextNonce === undefined || chain.block === undefined) return { kind: "idle" };
    return { kind: "reserve", pending: { account: signer, nonce: chain.nextNonce, fromBlock: chain.block }, uri };
  }
  if (signer === undefined || chain.agentUri === undefined) return { kind: "idle" };
  if (chain.agentUri !== uri) return { kind: "update-uri", agentId, uri };
  if (deleting) return book.tombstoned ? { kind: "idle" } : { kind: "mark-tombstoned" };
  for (const [key, value] of Object.entries(metadata)) {
    if (chain.metadata?.[key] !== value) return { kind: "update-metadata", agentId, key, value };
  }
  return { kind: "idle" };
}

function sameAccount(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Whether a deleted offer's registration lets the finalizer go: never registered and nothing in
 * flight, tombstoned, or registered by someone else (no key: only they can mark it inactive).
 */
export function registrationReleased(view: RegistrationView, signer: string | undefined): boolean {
  if (view.book.pending) return false;
  return view.agentId === undefined || view.book.tombstoned === true || signer === undefined;
}
