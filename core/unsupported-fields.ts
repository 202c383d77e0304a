// Fields an object may carry that this operator does not implement. They are refused by name,
// never dropped: a dropped `payment.asset` would charge an offer priced in one token in
// another (obol-stack's offers priced in OBOL would be charged in USDC).

/** obol-stack's newer ServiceOffer fields, and why each is refused until it is implemented. */
export const NOT_IMPLEMENTED: Readonly<Record<string, string>> = {
  "spec.routes": "is not implemented yet (one paid path prefix per offer): refused, so that no route is charged, or served free, other than the offer says",
  "spec.hostname": "is not implemented yet (routes match every host of the gateway): refused, so that the offer is not published on hosts it did not name",
  "spec.limits": "is not implemented yet: refused, so that the offer is not served without the limits it sets",
};

/** What to tell a user about a field the schema does not know. */
export function unknownFieldMessage(field: string): string {
  return NOT_IMPLEMENTED[field] ?? "is not a field this operator knows: refused rather than ignored (a misspelling, or a field of a newer version)";
}
