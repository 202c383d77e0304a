// The soak's books: what each buyer asked for and got (statuses, receipts, charges), kept as
// the requests happen, then reconciled with the chain and the verifiers' metrics.
import { Buffer } from "node:buffer";

export type Outcome = {
  worker: string;
  paid: boolean;
  /** Every status this one request got, retries of the same payment included. */
  statuses: number[];
  /** Whether every 503 carried Retry-After. */
  retryAfterOk: boolean;
  /** The settlement transaction its receipt names, if served. */
  transaction?: string;
  /** Atomic units the receipt says were charged (exact: the price). */
  charged?: bigint;
  at: number;
  /** What the last answer that was not a 200 said (its error), for the summary. */
  said?: string;
  /** When a gateway (not a verifier) answered 5xx other than 503. */
  gatewayErrorsAt?: number[];
};

/**
 * The receipt a buyer got: in the answer's headers (the data path), as the stream's last line
 * (metered), or, through ForwardAuth, which sends the verifier's receipt upstream only, in the
 * test upstream's echo of what it was sent (dev/upstream-server.ts).
 */
export function receiptOf(headers: Headers, body?: string): { transaction: string; amount?: string } | undefined {
  const header = headers.get("payment-response") ?? headers.get("x-payment-response");
  const encoded = header ?? (body ? /^: x402-payment-response (\S+)$/m.exec(body)?.[1] ?? echoed(body) : undefined);
  if (!encoded) return undefined;
  try {
    const receipt = JSON.parse(Buffer.from(encoded, "base64").toString());
    return receipt?.success === true && typeof receipt.transaction === "string" ? { transaction: receipt.transaction, amount: receipt.amount } : undefined;
  } catch {
    return undefined;
  }
}

function echoed(body: string): string | undefined {
  try {
    const seen = JSON.parse(body);
    return typeof seen?.paymentResponse === "string" ? seen.paymentResponse : undefined;
  } catch {
    return undefined;
  }
}

export type LedgerSummary = {
  requests: number;
  paidRequests: number;
  served: number;
  unpaidAnswered402: number;
  statuses: Record<string, number>;
  retriesOfSamePayment: number;
  fiveHundredsWithoutRetryAfter: number;
  otherFiveHundreds: number;
  chargedByReceipts: bigint;
  /** worker, status and what was said, counted: the soak's answers at a glance. */
  answers: Record<string, number>;
};

export function summarize(outcomes: readonly Outcome[]): LedgerSummary {
  const statuses: Record<string, number> = {};
  for (const o of outcomes) for (const s of o.statuses) statuses[s] = (statuses[s] ?? 0) + 1;
  const all = outcomes.flatMap((o) => o.statuses);
  return {
    requests: outcomes.length,
    paidRequests: outcomes.filter((o) => o.paid).length,
    served: outcomes.filter((o) => o.paid && o.statuses.at(-1) === 200).length,
    unpaidAnswered402: outcomes.filter((o) => !o.paid && o.statuses.at(-1) === 402).length,
    statuses,
    retriesOfSamePayment: outcomes.reduce((n, o) => n + o.statuses.length - 1, 0),
    fiveHundredsWithoutRetryAfter: outcomes.filter((o) => !o.retryAfterOk).length,
    otherFiveHundreds: all.filter((s) => s >= 500 && s !== 503).length,
    chargedByReceipts: outcomes.reduce((sum, o) => sum + (o.charged ?? 0n), 0n),
    answers: outcomes.reduce((counts, o) => {
      const key = `${o.worker} ${o.statuses.join(">")}${o.said ? ` ${o.said}` : ""}`;
      counts[key] = (counts[key] ?? 0) + 1;
      return counts;
    }, {} as Record<string, number>),
  };
}

/** Sum of a counter over every series whose labels contain `match`, in Prometheus text. */
export function counterSum(metrics: string, name: string, match: string): number {
  return metrics.split("\n").filter((line) => line.startsWith(`${name}{`) && line.includes(match)).reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}
