import { describe, expect, it } from "vitest";
import { bookOf } from "./registration-book.ts";

const pending = { account: "0x00000000000000000000000000000000000000aa", nonce: 3, transaction: "0xabc", raw: "0xdef" };

describe("bookOf", () => {
  it("reads the registrar's fields, and nothing at all as an empty book", () => {
    expect(bookOf(undefined)).toMatchObject({ book: {} });
    expect(bookOf({ agentId: "7", registrationTxHash: "0x1", registration: { uri: "u", pending }, conditions: [] })).toMatchObject({ book: { uri: "u", pending }, agentId: "7", transaction: "0x1" });
  });

  it("refuses bookkeeping it cannot read, naming where, and keeps what it can show", () => {
    for (const status of [{ agentId: 7 }, { agentId: "-1" }, { registration: { pending: { ...pending, nonce: -1 } } }, { registration: { pending: { ...pending, account: "me" } } }, { registration: "x" }]) {
      const read = bookOf(status);
      expect(read.book).toBeUndefined();
      expect(read.problem).toBeTruthy();
    }
    expect(bookOf({ agentId: "x1", registrationTxHash: "0x1" })).toMatchObject({ kept: { agentId: "x1", transaction: "0x1" } });
  });
});
