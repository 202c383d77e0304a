import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { ServiceOfferSpecSchema } from "./service-offer.ts";
import { unknownFields } from "./unknown-fields.ts";
import { NOT_IMPLEMENTED } from "./unsupported-fields.ts";

const spec = {
  upstream: { service: "ollama", namespace: "llm", port: 11434 },
  payment: { network: "base-sepolia", payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", price: { perRequest: "0.001" } },
};

describe("unknownFields", () => {
  it("names every field a strict schema does not define, at every depth, and nothing else", () => {
    const input = { ...spec, hostname: "a.example", upstream: { ...spec.upstream, healthpath: "/x" }, payment: { ...spec.payment, asset: { address: "0x0B01000000000000000000000000000000000b01", color: "red" }, price: { perRequest: "1", perToken: "2" } } };
    expect(unknownFields(ServiceOfferSpecSchema, input, "spec").map((i) => i.field).sort()).toEqual(["spec.hostname", "spec.payment.asset.color", "spec.payment.price.perToken", "spec.upstream.healthpath"]);
    expect(unknownFields(ServiceOfferSpecSchema, spec, "spec")).toEqual([]);
  });

  it("leaves alone what a loose object carries whole (registration) and keys named like Object's own", () => {
    const input = { ...spec, registration: { enabled: true, anything: { nested: 1 } } };
    expect(unknownFields(ServiceOfferSpecSchema, input, "spec")).toEqual([]);
    expect(unknownFields(ServiceOfferSpecSchema, { ...spec, toString: 1, constructor: 2 }, "spec").map((i) => i.field)).toEqual(["spec.toString", "spec.constructor"]);
  });

  it("walks arrays of strict objects", () => {
    const schema = v.strictObject({ list: v.array(v.strictObject({ a: v.string() })) });
    expect(unknownFields(schema, { list: [{ a: "x" }, { a: "y", b: 1 }] }, "").map((i) => i.field)).toEqual(["list.1.b"]);
  });

  it.each(Object.keys(NOT_IMPLEMENTED))("refuses obol-stack's %s with its own reason", (field) => {
    const input = structuredClone(spec) as Record<string, unknown>;
    const parts = field.split(".").slice(1);
    let at = input;
    for (const part of parts.slice(0, -1)) at = at[part] as Record<string, unknown>;
    at[parts.at(-1)!] = { any: "value" };
    expect(unknownFields(ServiceOfferSpecSchema, input, "spec")).toEqual([{ field, message: NOT_IMPLEMENTED[field] }]);
  });
});
