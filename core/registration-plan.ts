// The next step of an offer's ERC-8004 registration, decided from its status and what the
// chain shows; the registrar (controller/registrar.ts) runs one step per round and looks again.
// Never two registrations for one offer: `register` is signed at an account nonce and recorded
// in the offer's status (its hash and bytes) before it is broadcast, so after any restart or
// change of leader the very same transaction is broadcast again (a nonce lands once), or its
// receipt is found, or the chain is seen to have mined past its nonce without it (at a block
// that will not be reorganized) before a new one is signed. Pure: the chain is an input.

import { sameAddress } from "./pay-to.ts";

/** `status.registration`: the registrar's bookkeeping, beside `status.agentId` and `registrationTxHash`. */
export type RegistrationBook = {
  /** The agentURI registered (or being registered). */
  uri?: string;
  /** A `register` signed and recorded, perhaps broadcast: by this account, at this nonce. */
  pending?: { account: string; nonce: number; transaction: string; raw: string };
  /** The agent's URI was set to its tombstone (the offer is being deleted). */
  tombstoned?: boolean;
};

export type RegistrationView = {
  agentId?: string;
  book: RegistrationBook;
};

/** What the chain shows, read for this round (by the registrar, in this order). */
export type ChainView = {
  /** Transactions the pending account has mined, at a block that will not be reorganized (read first). */
  minedNonce?: number;
  /**
   * The pending transaction's receipt, read after: registered this offer's URI (with the agent
   * id), spent without doing so (reverted, or registered something else), or none yet.
   */
  sent?: { status: "registered"; agentId: string; transaction: string } | { status: "reverted" } | { status: "unmined" };
  /** Whether the pending transaction's bytes are ours: register(uri) at its nonce, signed by the signer, hashing to it. */
  rawIsOurs?: boolean;
  /** Without a reservation: an earlier Registered event of this URI (by the signer; by anyone without a key). */
  found?: { agentId: string; transaction: string };
  /** The next nonce to take: the signer's pending count, past every nonce reserved for other offers. */
  nextNonce?: number;
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
  /** Sign register(uri) at this nonce and record it before anything is sent. */
  | { kind: "reserve"; account: string; nonce: number; uri: string }
  /** Broadcast the recorded transaction (again, if it was before: it lands once). */
  | { kind: "send"; raw: string; nonce: number }
  /** The recorded nonce went to another transaction and nothing registered this URI: take a new one. */
  | { kind: "release" }
  /** The agent's URI or a metadata value differs from the offer's: one write each. */
  | { kind: "update-uri"; agentId: string; uri: string }
  | { kind: "update-metadata"; agentId: string; key: string; value: string }
  /** Without a key: wait for someone to register the URI; found, it is recorded. */
  | { kind: "await-external"; uri: string }
  /** A reservation signed by a key this registrar no longer has (or bytes it did not sign): wait until it lands or its nonce passes. */
  | { kind: "await-other-key"; pending: NonNullable<RegistrationBook["pending"]> }
  /** Being deleted, and the agent's URI on chain is its tombstone: say so, and let the offer go. */
  | { kind: "mark-tombstoned" };

export type PlanInput = {
  view: RegistrationView;
  chain: ChainView;
  /** The signing account, if the registrar has a key. */
  signer?: string;
  /** The agentURI the offer should have on chain now: its live one, or its tombstone (being deleted). */
  uri: string;
  /** The agentURI the offer registers: its live one, even while it is being deleted (absent: `uri`). */
  registerUri?: string;
  metadata: Record<string, string>;
  deleting: boolean;
};

export function planRegistration({ view, chain, signer, uri, registerUri = uri, metadata, deleting }: PlanInput): RegistrationStep {
  const { agentId, book } = view;
  if (agentId === undefined) {
    const pending = book.pending;
    if (pending) {
      if (chain.sent?.status === "registered") return { kind: "record", agentId: chain.sent.agentId, transaction: chain.sent.transaction, uri: registerUri };
      // Mined and reverted: its nonce is spent and nothing was registered.
      if (chain.sent?.status === "reverted") return { kind: "release" };
      if (chain.minedNonce === undefined || chain.sent === undefined) return { kind: "idle" };
      // Mined past its nonce (for good) and not ours: it can never land now.
      if (chain.minedNonce > pending.nonce) return { kind: "release" };
      // Signed by a key this registrar no longer has, or bytes it did not sign: only waiting is safe.
      if (signer === undefined || !sameAddress(signer, pending.account) || chain.rawIsOurs !== true) return { kind: "await-other-key", pending };
      return { kind: "send", raw: pending.raw, nonce: pending.nonce };
    }
    if (chain.found) return { kind: "record", ...chain.found, uri: registerUri };
    if (deleting) return { kind: "idle" };
    if (signer === undefined) return { kind: "await-external", uri: registerUri };
    if (chain.nextNonce === undefined) return { kind: "idle" };
    return { kind: "reserve", account: signer, nonce: chain.nextNonce, uri: registerUri };
  }
  if (signer === undefined || chain.agentUri === undefined) return { kind: "idle" };
  if (chain.agentUri !== uri) return { kind: "update-uri", agentId, uri };
  if (deleting) return book.tombstoned ? { kind: "idle" } : { kind: "mark-tombstoned" };
  for (const [key, value] of Object.entries(metadata)) {
    if (chain.metadata?.[key] !== value) return { kind: "update-metadata", agentId, key, value };
  }
  return { kind: "idle" };
}

/**
 * Whether a deleted offer's registration lets the finalizer go: never registered and nothing in
 * flight, tombstoned, or registered by someone else (no key: only they can mark it inactive).
 */
export function registrationReleased(agentId: string | undefined, book: { pending?: unknown; tombstoned?: unknown }, signer: string | undefined): boolean {
  if (book.pending !== undefined) return false;
  return agentId === undefined || book.tombstoned === true || signer === undefined;
}
