// The core's promise, checked: no I/O, no clock, no timers, nothing but valibot and itself.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const sources = readdirSync(here).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
const FORBIDDEN = [
  /\bDate\.now\s*\(/,
  /\bnew Date\s*\(\s*\)/,
  /\bperformance\.now\b/,
  /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/,
  /\bfetch\s*\(/,
  /\bprocess\./,
  /\bDeno\./,
  /\bMath\.random\b/,
  /\bcrypto\.getRandomValues\b/,
];

describe("core purity", () => {
  it.each(sources)("%s imports only valibot and other core modules", (file) => {
    const text = readFileSync(join(here, file), "utf8");
    const imports = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm)].map((m) => m[1]);
    for (const specifier of imports) expect(specifier === "valibot" || /^\.\/[\w-]+\.ts$/.test(specifier!)).toBe(true);
  });

  it.each(sources)("%s reads no clock, starts no timer and does no I/O", (file) => {
    const text = readFileSync(join(here, file), "utf8").replace(/\/\/.*$/gm, "");
    for (const pattern of FORBIDDEN) expect(text).not.toMatch(pattern);
  });
});
