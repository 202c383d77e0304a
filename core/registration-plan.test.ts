import { describe, expect, it } from "vitest";
import { seededRandom } from "../tests/support/seeded-random.ts";
import { type ChainView, planRegistration, type RegistrationBook, registrationReleased, type RegistrationStep } from "./registration-plan.ts";

const SIGNER = "0x00000000000000000000000000000000000000aa";
const OTHER = "0x00000000000000000000000000000000000000bb";
const URI = "https://seller.example/.well-known/agent-registration.json?agent=llm/qwen";
const plan = (agentId: string | undefined, book: RegistrationBook, chain: ChainView, extra: Partial<Parameters<typeof planRegistration>[0]> = {}) =>
  planRegistration({ view: { agentId, book }, chain, signer: SIGNER, uri: URI, metadata: {}, deleting: false, ...extra });

describe("planRegistration", () => {
  it("reserves a nonce before anything is sent, then sends at exactly that nonce", () => {
    expect(plan(undefined, {}, { nextNonce: 7, block: "100" })).toEqual({ kind: "reserve", pending: { account: SIGNER, nonce: 7, fromBlock: "100" }, uri: URI });
    expect(plan(undefined, { uri: URI, pending: { account: SIGNER, nonce: 7, fromBlock: "100" } }, { minedNonce: 7 })).toEqual({ kind: "send", nonce: 7, uri: URI });
  });

  it("records a registration found on chain, whether it was ours in flight or an earlier one", () => {
    const found = { agentId: "3", transaction: "0xabc" };
    expect(plan(undefined, { uri: URI, pending: { account: SIGNER, nonce: 7, fromBlock: "100" } }, { found, minedNonce: 8 })).toEqual({ kind: "record", ...found, uri: URI });
    expect(plan(undefined, {}, { found, nextNonce: 9, block: "120" })).toEqual({ kind: "record", ...found, uri: URI });
  });

  it("gives up a nonce only once the chain mined past it with no registration of this URI", () => {
    const pending = { account: SIGNER, nonce: 7, fromBlock: "100" };
    expect(plan(undefined, { uri: URI, pending }, { minedNonce: 8 })).toEqual({ kind: "release" });
    expect(plan(undefined, { uri: URI, pending }, {})).toEqual({ kind: "idle" });
  });

  it("never sends or gives up a reservation another key made: it waits for it", () => {
    const pending = { account: OTHER, nonce: 7, fromBlock: "100" };
    expect(plan(undefined, { uri: URI, pending }, { minedNonce: 7 })).toEqual({ kind: "await-other-key", pending });
    expect(plan(undefined, { uri: URI, pending }, { minedNonce: 7 }, { signer: undefined })).toEqual({ kind: "await-other-key", pending });
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
    expect(plan(undefined, {}, { nextNonce: 1, block: "1" }, { deleting: true })).toEqual({ kind: "idle" });
    expect(registrationReleased({ book: {} }, SIGNER)).toBe(true);
    expect(registrationReleased({ agentId: "3", book: {} }, SIGNER)).toBe(false);
    expect(registrationReleased({ agentId: "3", book: { tombstoned: true } }, SIGNER)).toBe(true);
    expect(registrationReleased({ book: { pending: { account: SIGNER, nonce: 1, fromBlock: "1" } } }, SIGNER)).toBe(false);
  });
});

/**
 * A model of the chain (one account's nonces, a registry, a mempool that may hold or drop a
 * sent transaction) and of the status (a write may be lost with the process that made it),
 * driven by the plan with a crash between any two steps and other senders using the account.
 * Whatever happens, the URI is registered at most once, and once the world settles, exactly once.
 */
describe("planRegistration under crashes, lost writes and a shared account", () => {
  type Tx = { nonce: number; register?: string };
  const ACTIONS = ["step", "step", "step", "mine", "crash", "other-sends", "drop-mempool"] as const;
  it("registers each URI once, however the rounds interleave (2,000 generated histories)", () => {
    const random = seededRandom(8004);
    for (let run = 0; run < 2000; run++) {
      const actions = Array.from({ length: Math.floor(random() * 60) }, () => ACTIONS[Math.floor(random() * ACTIONS.length)]!);
      let mined = 0;
      const registered: string[] = [];
      let mempool: Tx[] = [];
      let status: { agentId?: string; book: RegistrationBook } = { book: {} };
      const mine = () => {
        const tx = mempool.find((t) => t.nonce === mined);
        if (!tx) return;
        mempool = mempool.filter((t) => t.nonce !== mined);
        mined++;
        if (tx.register) registered.push(tx.register);
      };
      const nextNonce = () => Math.max(mined, ...mempool.map((t) => t.nonce + 1));
      /** One round: read, decide, act; `crashed`: the process died before its write or send. */
      const round = (crashed = false) => {
        const found = registered.includes(URI) ? { agentId: String(registered.indexOf(URI)), transaction: "0x1" } : undefined;
        const step: RegistrationStep = plan(status.agentId, status.book, { found, minedNonce: mined, nextNonce: nextNonce(), block: "1", agentUri: status.agentId ? URI : undefined });
        if (crashed) return;
        if (step.kind === "record") status = { agentId: step.agentId, book: { uri: step.uri } };
        else if (step.kind === "reserve") status = { book: { uri: step.uri, pending: step.pending } };
        else if (step.kind === "release") status = { book: {} };
        // A node takes one transaction per nonce; the same one again is "already known".
        else if (step.kind === "send" && step.nonce >= mined && !mempool.some((t) => t.nonce === step.nonce)) mempool.push({ nonce: step.nonce, register: step.uri });
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
