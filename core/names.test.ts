import { describe, expect, it } from "vitest";
import { childName, fnv1a64, MAX_NAME_LENGTH } from "./names.ts";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

describe("childName", () => {
  it("keeps short names readable", () => {
    expect(childName("x402-", "llama")).toBe("x402-llama");
    expect(childName("", "llama", "-payment")).toBe("llama-payment");
  });

  it("shortens long names to 63 valid characters with a stable hash", () => {
    const long = "a-very-long-offer-name-that-goes-on-and-on-well-beyond-sixty-chars";
    const name = childName("so-", long);
    expect(name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    expect(name).toMatch(DNS1123_SUBDOMAIN);
    expect(name.startsWith("so-a-very-long-offer-name")).toBe(true);
    expect(childName("so-", long)).toBe(name);
  });

  it("gives different long names different children", () => {
    const base = "x".repeat(70);
    expect(childName("so-", `${base}-one`)).not.toBe(childName("so-", `${base}-two`));
  });

  it("never ends the kept prefix on a dash or dot", () => {
    const name = childName("", `${"a".repeat(51)}-.-${"b".repeat(20)}`);
    expect(name).toMatch(DNS1123_SUBDOMAIN);
    expect(name).not.toContain("--");
  });
});

describe("fnv1a64", () => {
  it("matches the published test vectors", () => {
    expect(fnv1a64("")).toBe("cbf29ce484222325");
    expect(fnv1a64("a")).toBe("af63dc4c8601ec8c");
    expect(fnv1a64("foobar")).toBe("85944171f73967e8");
  });
});

describe("fnv1a64", () => {
  // The reference definition, one BigInt step per byte: the limb arithmetic must match it
  // exactly, or every child in every cluster would look drifted after an upgrade.
  const reference = (text: string) => {
    let hash = 0xcbf29ce484222325n;
    for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
    return hash.toString(16).padStart(16, "0");
  };

  it("gives the published test vectors", () => {
    expect(fnv1a64("")).toBe("cbf29ce484222325");
    expect(fnv1a64("a")).toBe("af63dc4c8601ec8c");
    expect(fnv1a64("foobar")).toBe("85944171f73967e8");
  });

  it("matches the BigInt definition on long, non-ASCII and every-byte inputs", () => {
    const inputs = ["x".repeat(5000), "prix: 0,001 € — ünïcødé 🚀", String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i)), JSON.stringify({ a: [1, 2, { b: "c" }] })];
    for (let i = 0; i < 200; i++) inputs.push(Array.from({ length: i }, (_, j) => String.fromCharCode(((i * 31 + j * 17) % 0x2ff) + 1)).join(""));
    for (const input of inputs) expect(fnv1a64(input)).toBe(reference(input));
  });
});
