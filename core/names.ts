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

/** The FNV-1a 64-bit hash as 16 hex digits: tiny, pure, and the same on every runtime. */
export function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}
