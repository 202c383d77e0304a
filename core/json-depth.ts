// How deeply a value from outside nests, found without recursion: JSON.stringify, valibot and
// every other recursive walk overflow the stack on a document nested a few thousand levels
// deep (which the API server stores), so hostile input is measured by this first.

/** The nesting depth of `value` (0 for a scalar), or Infinity once it passes `limit` or holds more than `maxNodes` values. */
export function nestingDepth(value: unknown, limit = 64, maxNodes = 100_000): number {
  let deepest = 0;
  let nodes = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (++nodes > maxNodes) return Infinity;
    if (typeof current !== "object" || current === null) continue;
    const level = depth + 1;
    if (level > limit) return Infinity;
    if (level > deepest) deepest = level;
    for (const child of Object.values(current)) stack.push([child, level]);
  }
  return deepest;
}

/** Deeper than any spec we write or read needs. */
export const MAX_SPEC_DEPTH = 32;
