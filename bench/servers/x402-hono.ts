// The official @x402/hono paymentMiddleware guarding one route like our verifier's, for
// the 402 comparison. Its facilitator is an in-process object (no network); only 402s
// are measured, so it is never asked to verify.
// Usage: x402-hono.ts PORT PAY_TO
import { serve } from "@hono/node-server";
import { registerExactEvmScheme } from "@x402/evm/exact/server";
import { paymentMiddleware, x402ResourceServer } from "@x402/hono";
import { Hono } from "hono";

const [port, payTo] = process.argv.slice(2);
const offline = {
  getSupported: async () => ({ kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:84532" }], extensions: [], signers: {} }),
  verify: async () => ({ isValid: false, invalidReason: "not_measured" }),
  settle: async () => ({ success: false, errorReason: "not_measured", transaction: "", network: "eip155:84532" }),
};
const server = new x402ResourceServer(offline as never);
registerExactEvmScheme(server);
const app = new Hono();
app.use(paymentMiddleware({
  "GET /services/llm/*": { accepts: { scheme: "exact", price: "$0.001", network: "eip155:84532", payTo: payTo! }, description: "", mimeType: "application/json" },
} as never, server));
app.get("/services/llm/*", (c) => c.text("paid content"));
serve({ fetch: app.fetch, port: Number(port), hostname: "127.0.0.1" }, () => console.log("listening"));
