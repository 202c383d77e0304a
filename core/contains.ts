// Does an object read from the API server already hold what we would apply? The server
// adds fields of its own (defaults, managedFields, status), so "holds" means: every
// field we set has the value we set. Lists must match element by element.

export function containsDesired(observed: unknown, desired: unknown): boolean {
  if (desired === null || typeof desired !== "object") return Object.is(observed, desired);
  if (Array.isArray(desired)) {
    return Array.isArray(observed) && observed.length === desired.length &&
      desired.every((item, i) => containsDesired(observed[i], item));
  }
  if (observed === null || typeof observed !== "object" || Array.isArray(observed)) return false;
  const have = observed as Record<string, unknown>;
  return Object.entries(desired).every(([key, value]) => value === undefined || containsDesired(have[key], value));
}
