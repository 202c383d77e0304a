import { describe, expect, it } from "vitest";
import { effectivePrice } from "./price.ts";

describe("effectivePrice", () => {
  it("charges perRequest as it is", () => {
    expect(effectivePrice({ perRequest: "0.001" }, 6)).toEqual({ ok: true, price: { model: "perRequest", amount: 1000n, decimal: "0.001" } });
    expect(effectivePrice({ perRequest: "0.123456" }, 6)).toEqual({ ok: true, price: { model: "perRequest", amount: 123456n, decimal: "0.123456" } });
  });

  it("refuses a perRequest price with more decimals than the token has", () => {
    expect(effectivePrice({ perRequest: "0.1234567" }, 6)).toEqual({
      ok: false,
      issue: { field: "spec.payment.price.perRequest", message: expect.stringContaining("more than 6 decimals") },
    });
  });

  it("assumes 1000 tokens per request for perMTok", () => {
    expect(effectivePrice({ perMTok: "2" }, 6)).toEqual({ ok: true, price: { model: "perMTok", amount: 2000n, decimal: "0.002" } });
  });

  it("assumes 5 minutes per request for perHour and rounds up", () => {
    expect(effectivePrice({ perHour: "1" }, 6)).toEqual({ ok: true, price: { model: "perHour", amount: 83334n, decimal: "0.083334" } });
    expect(effectivePrice({ perHour: "12" }, 6)).toEqual({ ok: true, price: { model: "perHour", amount: 1_000_000n, decimal: "1" } });
  });

  it("prefers perRequest, then perMTok, then perHour", () => {
    expect(effectivePrice({ perRequest: "0.5", perMTok: "1", perHour: "1" }, 6)).toMatchObject({ ok: true, price: { model: "perRequest" } });
    expect(effectivePrice({ perMTok: "1", perHour: "1" }, 6)).toMatchObject({ ok: true, price: { model: "perMTok" } });
  });

  it("refuses a zero price", () => {
    expect(effectivePrice({ perRequest: "0" }, 6)).toMatchObject({ ok: false, issue: { field: "spec.payment.price.perRequest" } });
    expect(effectivePrice({ perMTok: "0.0" }, 6)).toMatchObject({ ok: false, issue: { field: "spec.payment.price.perMTok" } });
  });

  it("refuses a price that means more than a token transfer can carry", () => {
    expect(effectivePrice({ perRequest: "9".repeat(80) }, 6)).toMatchObject({ ok: false, issue: { field: "spec.payment.price.perRequest", message: expect.stringContaining("too large") } });
    expect(effectivePrice({ perMTok: "9".repeat(80) }, 6)).toMatchObject({ ok: false, issue: { field: "spec.payment.price.perMTok" } });
  });
});
