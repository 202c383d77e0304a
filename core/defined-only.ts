// Objects as the API server and YAML readers see them: a field set to undefined is no field.
// Server-side apply and the golden files compare what is present, so absent fields are dropped.

export function definedOnly<T extends Record<string, unknown>>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}
