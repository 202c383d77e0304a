// The golden suite: each folder holds an offer, what was observed, and the exact result
// reconcile must give. UPDATE_GOLDEN=1 rewrites the expectations (never under CI).
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as v from "valibot";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { type ConfigOverrides, configWith } from "../../core/config.ts";
import { refOf } from "../../core/kube.ts";
import type { Observed } from "../../core/observed.ts";
import { reconcile } from "../../core/reconcile.ts";
import { ServiceOfferEnvelopeSchema } from "../../core/service-offer.ts";
import { sortKeys } from "../../core/yaml-order.ts";

const here = dirname(fileURLToPath(import.meta.url));
const update = process.env.UPDATE_GOLDEN === "1";
if (update && process.env.CI) throw new Error("UPDATE_GOLDEN is refused under CI: expectations change only by a reviewed commit");

const cases = readdirSync(here, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

function read(dir: string, file: string): unknown {
  const path = join(here, dir, file);
  return existsSync(path) ? parse(readFileSync(path, "utf8")) : undefined;
}

export function goldenText(value: unknown): string {
  return stringify(sortKeys(value), { lineWidth: 0 });
}

describe("golden reconcile cases", () => {
  it("has at least 20 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)("%s", (dir) => {
    const offer = v.parse(ServiceOfferEnvelopeSchema, read(dir, "offer.yaml"));
    const observedFile = (read(dir, "observed.yaml") ?? {}) as Observed & { now?: string };
    const { now = "2026-01-01T00:00:00Z", ...observed } = observedFile;
    const config = configWith((read(dir, "config.yaml") ?? {}) as ConfigOverrides);
    const result = reconcile(offer, { ...observed, children: observed.children ?? [] }, config, new Date(now));
    // The children to apply are in `desired` in full; naming them is enough here. What to
    // probe and which Events to tell are checked in core/reconcile.test.ts.
    const { probe: _probe, events: _events, ...decision } = result;
    const actual = goldenText({ ...decision, apply: decision.apply.map(refOf) });
    const expectedPath = join(here, dir, "expected.yaml");
    if (update) writeFileSync(expectedPath, actual);
    expect(actual).toBe(readFileSync(expectedPath, "utf8"));
  });
});
