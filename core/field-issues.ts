// Turns valibot's issues into what a user reads: the field's path and what is wrong.
import * as v from "valibot";

/** What is wrong with one field; `reason` when the offer is refused for another reason than an invalid spec. */
export type FieldIssue = { field: string; message: string; reason?: string };

export function toFieldIssues(prefix: string, issues: readonly v.BaseIssue<unknown>[]): FieldIssue[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue);
    return { field: prefix && path ? `${prefix}.${path}` : prefix || path || "", message: messageOf(issue) };
  });
}

function messageOf(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === "schema" && issue.input === undefined) return "is required";
  if (issue.kind === "schema") return `must be ${issue.expected ?? issue.type}, got ${describe(issue.input)}`;
  return `${issue.message} (got ${describe(issue.input)})`;
}

function describe(input: unknown): string {
  if (typeof input === "string") return JSON.stringify(input.length > 80 ? `${input.slice(0, 80)}...` : input);
  if (Array.isArray(input)) return "an array";
  if (input === null) return "null";
  if (typeof input === "object") return "an object";
  return String(input);
}

export function formatFieldIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join("; ");
}
