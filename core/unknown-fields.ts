// Every field of an input that its strict schema does not define, each by its path. Valibot
// reports the first unknown key of an object; a seller fixing an offer should hear of all of
// them at once.
import type * as v from "valibot";
import { type FieldIssue, toFieldIssues } from "./field-issues.ts";
import { unknownFieldMessage } from "./unsupported-fields.ts";

type Node = { type: string; entries?: Record<string, Node>; wrapped?: Node; item?: Node };

export function unknownFields(schema: v.GenericSchema, input: unknown, prefix: string): FieldIssue[] {
  const found: FieldIssue[] = [];
  walk(schema as unknown as Node, input, prefix, found);
  return found;
}

/**
 * What is wrong with an input, every unknown field named (valibot names the first of each
 * object only), then the other issues.
 */
export function specIssues(schema: v.GenericSchema, input: unknown, issues: readonly v.BaseIssue<unknown>[], prefix: string): FieldIssue[] {
  const others = issues.filter((issue) => !(issue.type === "strict_object" && issue.expected === "never"));
  return [...unknownFields(schema, input, prefix), ...toFieldIssues(prefix, others)];
}

function walk(schema: Node, input: unknown, path: string, found: FieldIssue[]): void {
  if (input === null || typeof input !== "object") return;
  if (schema.wrapped) return walk(schema.wrapped, input, path, found); // optional, nullable, ...
  if (schema.type === "array" && schema.item && Array.isArray(input)) {
    input.forEach((item, index) => walk(schema.item!, item, `${path}.${index}`, found));
    return;
  }
  if (!schema.entries || Array.isArray(input)) return;
  for (const [key, value] of Object.entries(input)) {
    const field = path ? `${path}.${key}` : key;
    const entry = Object.hasOwn(schema.entries, key) ? schema.entries[key] : undefined;
    if (entry) walk(entry, value, field, found);
    else if (schema.type === "strict_object") found.push({ field, message: unknownFieldMessage(field) });
  }
}
