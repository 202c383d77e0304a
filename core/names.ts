// Child object names. Kubernetes accepts at most 63 characters for the names we use
// (and for label values); a long offer name keeps a readable prefix and gets a stable
// hashed suffix, so the same offer always maps to the same child.

export const MAX_NAME_LENGTH = 63;
const HASH_LENGTH = 10;

export function childName(prefix: string, offerName: string, suffix = ""): string {
  const full = `${prefix}${offerName}${suffix}`;
  if (full.length <= MAX_NAME_LENGTH) return full;
  const hash = fnv1a64(full).slice(0, HASH_LENGTH);
  const room = MAX_NAME_LENGTH - HASH_LENGTH - 1;
  const head = full.slice(0, room).replace(/[^a-z0-9]+$/, "");
  return `${head}-${hash}`;
}

const utf8 = new TextEncoder();

/**
 * The FNV-1a 64-bit hash as 16 hex digits: tiny, pure, and the same on every runtime.
 * Computed in four 16-bit limbs (BigInt per byte was a tenth of the controller's CPU, as
 * every reconcile fingerprints every child): the prime is 2^40 + 0x1b3, so a product is
 * the hash times 0x1b3 plus the hash shifted left by 40 bits, carried limb by limb.
 */
export function fnv1a64(text: string): string {
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  const bytes = utf8.encode(text);
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i]!;
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    h3 = (h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16)) & 0xffff;
    h2 = t2 & 0xffff;
    h1 = t1 & 0xffff;
    h0 = t0 & 0xffff;
  }
  return [h3, h2, h1, h0].map((limb) => limb.toString(16).padStart(4, "0")).join("");
}
