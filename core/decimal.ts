// Exact decimal arithmetic for prices. Money never touches a float: a decimal string
// becomes a bigint count of atomic token units, and back.

export type DecimalError = { kind: "malformed" } | { kind: "too-precise"; decimals: number };

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** A non-negative decimal as an exact fraction: value = numerator / 10^scale. */
export type Fraction = { numerator: bigint; scale: number };

export function parseDecimal(text: string): Fraction | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ?? "";
  return { numerator: BigInt(match[1]! + fraction), scale: fraction.length };
}

/**
 * Converts an exact price to atomic units of a token with `decimals` decimals.
 * A price finer than one atomic unit is an error, never silently rounded.
 */
export function toAtomicExact(text: string, decimals: number): bigint | DecimalError {
  const value = parseDecimal(text);
  if (!value) return { kind: "malformed" };
  const excess = value.scale - decimals;
  if (excess <= 0) return value.numerator * 10n ** BigInt(-excess);
  const divisor = 10n ** BigInt(excess);
  if (value.numerator % divisor !== 0n) return { kind: "too-precise", decimals };
  return value.numerator / divisor;
}

/**
 * Atomic units of (text * multiplier / divisor), rounded up to the next whole unit:
 * a derived price must never charge less than the seller asked for.
 */
export function toAtomicCeil(
  text: string,
  decimals: number,
  multiplier: bigint,
  divisor: bigint,
): bigint | DecimalError {
  const value = parseDecimal(text);
  if (!value) return { kind: "malformed" };
  const numerator = value.numerator * multiplier * 10n ** BigInt(decimals);
  const denominator = divisor * 10n ** BigInt(value.scale);
  return (numerator + denominator - 1n) / denominator;
}

/** Formats atomic units as a decimal string without trailing zeros ("1000", 6 -> "0.001"). */
export function formatAtomic(units: bigint, decimals: number): string {
  const digits = units.toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}
