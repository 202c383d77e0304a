// A broken facilitator, for failure tests: a proxy in front of the official one that
// passes each request on (so the settlement really happens on chain) and then garbles the
// answer the way broken facilitators, gateways and networks do. `mode` picks the fault.
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Fault = "pass" | "html" | "truncated" | "rate-limited" | "unknown-reason" | "pending" | "dropped" | "injection" | "huge-reason" | "slow" | "unsent";
/** Faults of /verify: a fresh reason every time, or an answer that takes `delayMs`. */
export type VerifyFault = "pass" | "random-reason" | "slow";

export async function startFaultyFacilitator(target: string) {
  const state = { mode: "pass" as Fault, verifyMode: "pass" as VerifyFault, delayMs: 0, settles: 0, calls: 0, inFlight: 0, maxInFlight: 0 };
  const server = http.createServer(async (req, res) => {
    state.calls++;
    state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
    res.on("close", () => state.inFlight--);
    let text = "";
    for await (const chunk of req) text += chunk;
    if (req.url === "/verify" && state.verifyMode === "random-reason") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ isValid: false, invalidReason: `reason_${Math.random().toString(36).slice(2)}` }));
    }
    if (req.url === "/verify" && state.verifyMode === "slow") await new Promise((r) => setTimeout(r, state.delayMs));
    if (req.url === "/settle" && state.mode === "unsent") {
      // A gateway in front of the facilitator fails: the settlement never went out.
      state.settles++;
      res.writeHead(502, { "content-type": "text/html" });
      return res.end("<html>502 Bad Gateway</html>");
    }
    const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers: { "content-type": "application/json" }, body: req.method === "POST" ? text : undefined });
    const answer = await upstream.text();
    if (req.url !== "/settle" || state.mode === "pass") {
      res.writeHead(upstream.status, { "content-type": "application/json" });
      return res.end(answer);
    }
    state.settles++;
    const real = JSON.parse(answer) as { transaction?: string };
    const json = (status: number, body: unknown) => (res.writeHead(status, { "content-type": "application/json" }), res.end(JSON.stringify(body)));
    switch (state.mode) {
      case "html":
        res.writeHead(200, { "content-type": "text/html" });
        return res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
      case "truncated":
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(answer.slice(0, Math.floor(answer.length / 2)));
      case "rate-limited":
        return json(429, { success: false, errorReason: "invalid_exact_evm_insufficient_balance" });
      case "unknown-reason":
        return json(200, { success: false, errorReason: "facilitator_overloaded", transaction: "" });
      case "pending":
        // What @x402/evm answers when its receipt wait times out after broadcasting.
        return json(200, { success: false, errorReason: "invalid_exact_evm_transaction_failed", transaction: "" });
      case "huge-reason":
        return json(200, { success: false, errorReason: `x${"\n".repeat(10)}${"y".repeat(100_000)}` });
      case "injection":
        return json(200, { success: true, transaction: `${real.transaction}\r\nX-Injected: 1`, payer: "0xabc\nSet-Cookie: session=stolen", network: "base-sepolia\r\n" });
      case "dropped":
        return res.destroy();
      case "slow":
        // Settled on chain, answered only after `delayMs`.
        await new Promise((r) => setTimeout(r, state.delayMs));
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(answer);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, state, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}
