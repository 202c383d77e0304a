// The seller's service in the real-cluster tests, run inside a test host's network
// namespace. It answers every request with what it saw (path, Authorization, payer), so
// a test can check what reached it through Traefik.
// Usage: upstream-server.ts ADDRESS PORT
import http from "node:http";

const [address, port] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const body = JSON.stringify({ path: req.url, authorization: req.headers.authorization ?? null, payer: req.headers["x-payment-payer"] ?? null, paymentResponse: req.headers["x-payment-response"] ?? null });
  res.writeHead(200, { "content-type": "application/json" });
  res.end(body);
});
server.listen(Number(port), address, () => console.log(`listening ${address}:${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
