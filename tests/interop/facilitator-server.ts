// The official x402 facilitator (@x402/core + @x402/evm exact and upto schemes) behind a small
// HTTP server, on a given chain: the remote facilitator our verifier talks to in tests.
// Usage: facilitator-server.ts RPC_URL KEY_FILE   (prints "listening URL" when ready)
import http from "node:http";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { x402Facilitator } from "@x402/core/facilitator";
import { toFacilitatorEvmSigner } from "@x402/evm";
import { registerExactEvmScheme } from "@x402/evm/exact/facilitator";
import { UptoEvmScheme } from "@x402/evm/upto/facilitator";
import { createWalletClient, http as viemHttp, publicActions } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { baseSepolia } from "viem/chains";

const [rpcUrl, keyFile] = process.argv.slice(2);
if (!rpcUrl || !keyFile) throw new Error("usage: facilitator-server.ts RPC_URL KEY_FILE");
// The official scheme can reject in the background when the RPC is away; keep serving.
process.on("unhandledRejection", (error) => console.error("unhandled rejection", error));

const chain = { ...baseSepolia, rpcUrls: { default: { http: [rpcUrl] } } };
const account = privateKeyToAccount(readFileSync(keyFile, "utf8").trim() as `0x${string}`);
const client = createWalletClient({ account, chain, transport: viemHttp(rpcUrl) }).extend(publicActions);
const facilitator = new x402Facilitator();
// The official docs spread a viem client into the signer; its types lag viem's, hence the cast.
const signer = toFacilitatorEvmSigner({ ...client, address: account.address } as unknown as Parameters<typeof toFacilitatorEvmSigner>[0]);
registerExactEvmScheme(facilitator, { signer, networks: "eip155:84532" });
facilitator.register("eip155:84532", new UptoEvmScheme(signer));

const server = http.createServer(async (req, res) => {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  try {
    if (req.method === "GET" && req.url === "/supported") return send(200, facilitator.getSupported());
    let text = "";
    for await (const chunk of req) text += chunk;
    const { paymentPayload, paymentRequirements } = JSON.parse(text);
    if (req.method === "POST" && req.url === "/verify") return send(200, await facilitator.verify(paymentPayload, paymentRequirements));
    if (req.method === "POST" && req.url === "/settle") return send(200, await facilitator.settle(paymentPayload, paymentRequirements));
    send(404, { error: "not found" });
  } catch (error) {
    send(500, { error: error instanceof Error ? error.message : String(error) });
  }
});
server.listen(0, "127.0.0.1", () => console.log(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
