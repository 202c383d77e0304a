// The x402 Bazaar discovery extension an opted-in offer's 402 carries (extensions.bazaar), so
// that a facilitator settling its payments can catalogue how to call it: in exactly the shape
// @x402/extensions' declareDiscoveryExtension gives (core/bazaar.test.ts compares them), built
// here because the core imports no package but valibot. An inference offer is called with a
// JSON chat body (its model's name in it); any other with GET; `spec.discovery.input` and
// `.output` replace the example input and add an example output.
import type { ServiceOfferSpec } from "./service-offer.ts";

const JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema";

export type BazaarExtension = { info: Record<string, unknown>; schema: Record<string, unknown> };

export function bazaarEnabled(spec: ServiceOfferSpec): boolean {
  return spec.discovery?.bazaar === true;
}

export function bazaarExtension(spec: ServiceOfferSpec): BazaarExtension | undefined {
  if (!bazaarEnabled(spec)) return undefined;
  const declared = spec.discovery!;
  const output = declared.output === undefined ? undefined : { type: "json", example: declared.output };
  const outputSchema = output && { type: "object", properties: { type: { type: "string" }, example: { type: "object" } }, required: ["type"] };
  const withOutput = (info: Record<string, unknown>, properties: Record<string, unknown>): BazaarExtension => ({
    info: output ? { ...info, output } : info,
    schema: { $schema: JSON_SCHEMA, type: "object", properties: outputSchema ? { ...properties, output: outputSchema } : properties, required: ["input"] },
  });
  if (spec.type === "inference") {
    const body = declared.input ?? { model: spec.model?.name ?? "model", messages: [{ role: "user", content: "Hello" }] };
    const bodySchema = declared.input ? { properties: {} } : { properties: { model: { type: "string" }, messages: { type: "array" } }, required: ["messages"] };
    return withOutput({ input: { type: "http", method: "POST", bodyType: "json", body } }, {
      input: {
        type: "object",
        properties: {
          type: { type: "string", const: "http" }, method: { type: "string", enum: ["POST", "PUT", "PATCH"] },
          bodyType: { type: "string", enum: ["json", "form-data", "text"] }, body: bodySchema,
        },
        required: ["type", "method", "bodyType", "body"], additionalProperties: false,
      },
    });
  }
  return withOutput({ input: { type: "http", method: "GET", queryParams: declared.input ?? {} } }, {
    input: {
      type: "object",
      properties: { type: { type: "string", const: "http" }, method: { type: "string", enum: ["GET", "HEAD", "DELETE"] }, queryParams: { type: "object", properties: {} } },
      required: ["type", "method"], additionalProperties: false,
    },
  });
}
