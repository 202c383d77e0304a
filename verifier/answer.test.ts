import { describe, expect, it } from "vitest";
import { cachedUnpaidAnswers, paymentRequiredAnswer } from "./answer.ts";
import { pricedRoute } from "./test-support.ts";

describe("paymentRequiredAnswer", () => {
  it("reuses the answer for the same route and resource, and rebuilds it for a route the table replaced", () => {
    const route = pricedRoute();
    const first = paymentRequiredAnswer(route, "https://shop.example/services/llm/x");
    expect(paymentRequiredAnswer(route, "https://shop.example/services/llm/x")).toBe(first);
    const repriced = pricedRoute({ price: "0.002" });
    const next = paymentRequiredAnswer(repriced, "https://shop.example/services/llm/x");
    expect(next).not.toBe(first);
    expect(JSON.parse(next.body).accepts[0].maxAmountRequired).toBe("2000");
  });

  it("keeps a bounded cache whatever hosts, paths and queries buyers make up, across many routes", () => {
    const routes = Array.from({ length: 50 }, (_, i) => pricedRoute({ pattern: `/r${i}/*` }, { name: `r${i}` }));
    for (let i = 0; i < 20_000; i++) paymentRequiredAnswer(routes[i % 50]!, `https://h${i}.example/r/${i}?q=${"x".repeat(i % 400)}`);
    expect(cachedUnpaidAnswers()).toBeLessThanOrEqual(4096);
    const long = `https://shop.example/${"x".repeat(600)}`;
    const answer = paymentRequiredAnswer(routes[0]!, long);
    expect(paymentRequiredAnswer(routes[0]!, long)).not.toBe(answer); // too long to keep
    expect(JSON.parse(answer.body).accepts[0].resource).toBe(long);
  });
});
