// A remote x402 facilitator over its HTTP API (POST /verify, POST /settle). Timeouts are
// bounded so an answer reaches Traefik inside its fixed 30 s ForwardAuth timeout, and a
// settle call whose fate we cannot know is reported as unknown, never as failed.
import type { Facilitator, PaymentContext, SettleOutcome, VerifyOutcome } from "./facilitator.ts";
import { requirementFor } from "./facilitator.ts";

export type RemoteFacilitatorOptions = { url: string; verifyTimeoutMs?: number; settleTimeoutMs?: number; headers?: Record<string, string> };

/** https only, except on loopback where nothing crosses a network. */
export function checkFacilitatorUrl(text: string): URL {
  const url = new URL(text);
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || url.hostname.startsWith("127.");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new Error(`facilitator URL must use https (http is allowed on loopback only): ${text}`);
  }
  return url;
}

export function remoteFacilitator(options: RemoteFacilitatorOptions): Facilitator {
  const base = checkFacilitatorUrl(options.url).toString().replace(/\/$/, "");
  const call = async (path: string, context: PaymentContext, timeoutMs: number) => {
    const response = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body: JSON.stringify({ x402Version: context.payment.version, paymentPayload: context.payment.decoded, paymentRequirements: requirementFor(context) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a non-JSON answer is judged by its status alone
    }
    return { status: response.status, body, text: text.slice(0, 200) };
  };

  return {
    async verify(context): Promise<VerifyOutcome> {
      try {
        const { status, body, text } = await call("/verify", context, options.verifyTimeoutMs ?? 10_000);
        if (status !== 200) return { kind: "unavailable", message: `facilitator /verify answered ${status}: ${text}` };
        if (body.isValid === true) return { kind: "valid", payer: String(body.payer ?? context.payment.authorization.from) };
        const reason = String(body.invalidReason ?? "invalid_payment");
        return { kind: "invalid", reason, message: String(body.invalidMessage ?? reason) };
      } catch (error) {
        return { kind: "unavailable", message: `facilitator /verify: ${(error as Error).message}` };
      }
    },

    async settle(context): Promise<SettleOutcome> {
      try {
        const { status, body, text } = await call("/settle", context, options.settleTimeoutMs ?? 25_000);
        if (status >= 400 && status < 500) return { kind: "failed", reason: "settlement_refused", message: `facilitator /settle answered ${status}: ${text}` };
        if (status !== 200) return { kind: "unknown", message: `facilitator /settle answered ${status}: ${text}` };
        const transaction = typeof body.transaction === "string" ? body.transaction : "";
        if (body.success === true) return { kind: "settled", transaction, payer: String(body.payer ?? context.payment.authorization.from) };
        const reason = String(body.errorReason ?? "settlement_failed");
        // A transaction hash, or a "pending" reason, means it may still land: unknown, not failed.
        if (transaction || /pending/i.test(reason)) return { kind: "unknown", message: `facilitator: ${reason}`, transaction: transaction || undefined };
        return { kind: "failed", reason, message: String(body.errorMessage ?? reason) };
      } catch (error) {
        return { kind: "unknown", message: `facilitator /settle: ${(error as Error).message}` };
      }
    },
  };
}
