import { describe, expect, it } from "vitest";
import { seededRandom } from "../tests/support/seeded-random.ts";
import { type ChainView, planRegistration, type RegistrationBook, registrationReleased, type RegistrationStep } from "./registration-plan.ts";

const SIGNER = "0x00000000000000000000000000000000000000aa";
const OTHER = "0x00000000000000000000000000000000000000bb";
const URI = "https://seller.example/.well-known/agent-registration.json?agent=llm/qwen";
const plan = (agentId: string | undefined, book: RegistrationBook, chain: ChainView, extra: Partial<Parameters<typeof planRegistration>[0]> = {}) =>
  planRegistration({ view: { agentId, book }, chain, signer: SIGNER, uri: URI, metadata: {}, deleting: false, ...extra });

const pendingAt = (nonce: number, account = SIGNER) => ({ account, nonce, transaction: `0xtx${nonce}`, raw: `0xraw${nonce}` });

describe("planRegistration", () => {
  it("reserves a nonce (the transaction signed and recorded) before anything is sent, then broadcasts exactly those bytes", () => {
    expect(plan(undefined, {}, { nextNonce: 7 })).toEqual({ kind: "reserve", account: SIGNER, nonce: 7, uri: URI });
    expect(plan(undefined, { uri: URI, pending: pendingAt(7) }, { minedNonce: 7, sent: { status: "unmined" }, rawIsOurs: true })).toEqual({ kind: "send", raw: "0xraw7", nonce: 7 });
  });

  it("records the registration its receipt shows, or an earlier one found in the registry's logs", () => {
    const sent = { status: "registered" as const, agentId: "3", transaction: "0xtx7" };
    expect(plan(undefined, { uri: URI, pending: pendingAt(7) }, { minedNonce: 8, sent })).toEqual({ kind: "record", agentId: "3", transaction: "0xtx7", uri: URI });
    const found = { agentId: "4", transaction: "0xabc" };
    expect(plan(undefined, {}, { found, nextNonce: 9 })).toEqual({ kind: "record", ...found, uri: URI });
  });

  it("records what registered the offer's own URI, never a URI its status names (anyone may write a status)", () => {
    const sent = { status: "registered" as const, agentId: "3", transaction: "0xtx7" };
    const step = planRegistration({ view: { book: { uri: "https://evil.example/x", pending: pendingAt(7) } }, chain: { minedNonce: 8, sent }, signer: SIGNER, uri: "data:tomb", registerUri: URI, metadata: {}, deleting: true });
    expect(step).toEqual({ kind: "record", agentId: "3", transaction: "0xtx7", uri: URI });
  });

  it("gives up a nonce only once it was spent without registering: mined past it with no receipt, or reverted", () => {
    const book = { uri: URI, pending: pendingAt(7) };
    expect(plan(undefined, book, { minedNonce: 8, sent: { status: "unmined" } })).toEqual({ kind: "release" });
    expect(plan(undefined, book, { minedNonce: 8, sent: { status: "reverted" } })).toEqual({ kind: "release" });
    expect(plan(undefined, book, { minedNonce: 7, sent: { status: "unmined" }, rawIsOurs: true })).toMatchObject({ kind: "send" });
    // Nothing read: nothing decided.
    expect(plan(undefined, book, {})).toEqual({ kind: "idle" });
    expect(plan(undefined, book, { minedNonce: 8 })).toEqual({ kind: "idle" });
  });

  it("never broadcasts a reservation another key made, or bytes it did not sign: it waits for it to land or pass", () => {
    const other = pendingAt(7, OTHER);
    expect(plan(undefined, { uri: URI, pending: other }, { minedNonce: 7, sent: { status: "unmined" }, rawIsOurs: true })).toEqual({ kind: "await-other-key", pending: other });
    expect(plan(undefined, { uri: URI, pending: other }, { minedNonce: 7, sent: { status: "unmined" } }, { signer: undefined })).toEqual({ kind: "await-other-key", pending: other });
    const forged = pendingAt(7);
    expect(plan(undefined, { uri: URI, pending: forged }, { minedNonce: 7, sent: { status: "unmined" }, rawIsOurs: false })).toEqual({ kind: "await-other-key", pending: forged });
  });

  it("without a key, waits for an external registration of the URI and records it once found", () => {
    expect(plan(undefined, {}, {}, { signer: undefined })).toEqual({ kind: "await-external", uri: URI });
    expect(plan(undefined, {}, { found: { agentId: "5", transaction: "0x1" } }, { signer: undefined })).toMatchObject({ kind: "record", agentId: "5" });
  });

  it("writes nothing when the chain already says what the offer says (idle costs no transaction)", () => {
    expect(plan("3", { uri: URI }, { agentUri: URI, metadata: { a: "1" } }, { metadata: { a: "1" } })).toEqual({ kind: "idle" });
    expect(plan("3", { uri: URI }, { agentUri: "https://old.example/x" })).toEqual({ kind: "update-uri", agentId: "3", uri: URI });
    expect(plan("3", { uri: URI }, { agentUri: URI, metadata: { a: "0" } }, { metadata: { a: "1" } })).toEqual({ kind: "update-metadata", agentId: "3", key: "a", value: "1" });
  });

  it("on delete: the tombstone URI is written, then marked; a never-registered offer lets go at once", () => {
    const tomb = "data:application/json;base64,e30=";
    expect(plan("3", { uri: URI }, { agentUri: URI }, { deleting: true, uri: tomb })).toEqual({ kind: "update-uri", agentId: "3", uri: tomb });
    expect(plan("3", { uri: URI }, { agentUri: tomb }, { deleting: true, uri: tomb })).toEqual({ kind: "mark-tombstoned" });
    expect(plan("3", { uri: URI, tombstoned: true }, { agentUri: tomb }, { deleting: true, uri: tomb })).toEqual({ kind: "idle" });
    expect(plan(undefined, {}, { nextNonce: 1 }, { deleting: true })).toEqual({ kind: "idle" });
    expect(registrationReleased(undefined, {}, SIGNER)).toBe(true);
    expect(registrationReleased("3", {}, SIGNER)).toBe(false);
    expect(registrationReleased("3", {}, undefined)).toBe(true);
    expect(registrationReleased("3", { tombstoned: true }, SIGNER)).toBe(true);
    expect(registrationReleased(undefined, { pending: pendingAt(1) }, SIGNER)).toBe(false);
  });
});

/**
 * A model of the chain (one account's nonces, a registry, a mempool that may hold or drop a
 * sent transaction) and of the status (a write may be lost with the process that made it),
 * driven by the plan with a crash between any two steps and other senders using the account.
 * Whatever happens, the URI is registered at most once, and once the world settles, exactly once.
 */
describe("planRegistration under crashes, lost writes and a shared account", () => {
  type Tx = { nonce: number; register?: string; hash?: string };
  const ACTIONS = ["step", "step", "step", "mine", "crash", "other-sends", "drop-mempool"] as const;
  it("registers each URI once, however the rounds interleave (2,000 generated histories)", () => {
    const random = seededRandom(8004);
    for (let run = 0; run < 2000; run++) {
      const actions = Array.from({ length: Math.floor(random() * 60) }, () => ACTIONS[Math.floor(random() * ACTIONS.length)]!);
      let mined = 0;
      const registered: string[] = [];
      const receipts = new Map<string, string>();
      let signed = 0;
      let mempool: Tx[] = [];
      let status: { agentId?: string; book: RegistrationBook } = { book: {} };
      const mine = () => {
        const tx = mempool.find((t) => t.nonce === mined);
        if (!tx) return;
        mempool = mempool.filter((t) => t.nonce !== mined);
        mined++;
        if (tx.register) (registered.push(tx.register), receipts.set(tx.hash!, String(registered.length - 1)));
      };
      const nextNonce = () => Math.max(mined, ...mempool.map((t) => t.nonce + 1));
      /** One round: read, decide, act; `crashed`: the process died before its write or send. */
      const round = (crashed = false) => {
        const pending = status.book.pending;
        // Read in the registrar's order: the mined count first, then the receipt.
        const minedNonce = mined;
        const receipt = pending ? receipts.get(pending.transaction) : undefined;
        const sent = !pending ? undefined : receipt === undefined ? { status: "unmined" as const } : { status: "registered" as const, agentId: receipt, transaction: pending.transaction };
        const found = !pending && registered.includes(URI) ? { agentId: String(registered.indexOf(URI)), transaction: "0x1" } : undefined;
        const step: RegistrationStep = plan(status.agentId, status.book, { minedNonce, sent, rawIsOurs: true, found, nextNonce: nextNonce(), agentUri: status.agentId ? URI : undefined });
        if (crashed) return;
        if (step.kind === "record") status = { agentId: step.agentId, book: { uri: step.uri } };
        else if (step.kind === "reserve") status = { book: { uri: step.uri, pending: { account: step.account, nonce: step.nonce, transaction: `0x${++signed}`, raw: `${step.nonce}` } } };
        else if (step.kind === "release") status = { book: {} };
        // A node takes one transaction per nonce; the same one again is "already known".
        else if (step.kind === "send" && step.nonce >= mined && !mempool.some((t) => t.nonce === step.nonce)) mempool.push({ nonce: step.nonce, register: URI, hash: status.book.pending!.transaction });
      };
      for (const a of actions) {
        if (a === "step") round();
        else if (a === "crash") round(true);
        else if (a === "mine") mine();
        else if (a === "other-sends") mempool.push({ nonce: nextNonce() });
        // The node forgets our transaction (the other senders send theirs again until mined).
        else if (a === "drop-mempool") mempool = mempool.filter((t) => !t.register);
        expect(registered.filter((u) => u === URI).length).toBeLessThanOrEqual(1);
      }
      // Settling: rounds and blocks alternate until nothing is left to do.
      for (let i = 0; i < 20; i++) (round(), mine());
      expect(registered.filter((u) => u === URI)).toEqual([URI]);
      expect(status.agentId).toBe(String(registered.indexOf(URI)));
    }
  });
});
