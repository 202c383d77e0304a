// Reading the documents a command is pointed at: a file, or standard input for "-".
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

export class InputError extends Error {}

export function readDocuments(file: string): unknown[] {
  let text: string;
  try {
    text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  } catch (error) {
    throw new InputError(`cannot read ${file === "-" ? "standard input" : file}: ${(error as Error).message}`);
  }
  return parseYamlDocuments(text, file === "-" ? "standard input" : file);
}

export function parseYamlDocuments(text: string, source: string): unknown[] {
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [documents];
  for (const [index, doc] of list.entries()) {
    const error = doc.errors[0];
    if (error) throw new InputError(`${source}: YAML document ${index + 1}: ${error.message}`);
  }
  return list.map((doc) => doc.toJS()).filter((doc) => doc !== null && doc !== undefined);
}
