// Pays for one request with the official x402 v1 client and prints the answer: the
// "ready-to-run paid request" that `npm start` prints.
// Usage: X402_PAYER_KEY=0x... pay.ts URL
import { privateKeyToAccount } from "viem/accounts";
import { decodeXPaymentResponse, wrapFetchWithPayment } from "x402-fetch";

const [url] = process.argv.slice(2);
const key = process.env.X402_PAYER_KEY as `0x${string}` | undefined;
if (!url || !key) {
  console.error("usage: X402_PAYER_KEY=0x... pay.ts URL");
  process.exit(2);
}
const response = await wrapFetchWithPayment(fetch, privateKeyToAccount(key), 10_000_000n)(url);
console.log(`HTTP ${response.status}`);
const receipt = response.headers.get("x-payment-response");
if (receipt) console.log(`payment: ${JSON.stringify(decodeXPaymentResponse(receipt))}`);
console.log(await response.text());
process.exit(response.ok ? 0 : 1);
