import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { formatFieldIssues, toFieldIssues } from "./field-issues.ts";

describe("field issues", () => {
  it("names nested fields and array indexes", () => {
    const schema = v.object({ a: v.object({ list: v.array(v.number()) }) });
    const result = v.safeParse(schema, { a: { list: [1, "two"] } });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(toFieldIssues("spec", result.issues)).toEqual([{ field: "spec.a.list.1", message: 'must be number, got "two"' }]);
  });

  it("shortens huge values in messages", () => {
    const result = v.safeParse(v.object({ s: v.pipe(v.string(), v.regex(/^x$/, "must be x")) }), { s: "y".repeat(10_000) });
    if (result.success) throw new Error("expected failure");
    expect(formatFieldIssues(toFieldIssues("spec", result.issues)).length).toBeLessThan(200);
  });
});
