// Medians and spreads: every figure is reported as the median of its rounds with the
// spread (min..max) beside it, because these machines are shared and noisy.

export type Figure = { key: string; what: string; goal: string; median: number; min: number; max: number; rounds: number; unit?: string; note?: string };

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function figure(key: string, what: string, goal: string, values: readonly number[], extra: Partial<Figure> = {}): Figure {
  return { key, what, goal, median: median(values), min: Math.min(...values), max: Math.max(...values), rounds: values.length, ...extra };
}

export function meetsGoal(f: Figure): boolean {
  const match = /^(>=|<=)\s*([\d.]+)$/.exec(f.goal);
  if (!match) return f.median === Number(f.goal);
  return match[1] === ">=" ? f.median >= Number(match[2]) : f.median <= Number(match[2]);
}

export const round = (value: number, digits = 2) => Number(value.toFixed(digits));
