// A fast upstream for proxy benchmarks: every request answered 200 with a small JSON body.
// Usage: json-upstream.ts PORT
import http from "node:http";

const body = JSON.stringify({ choices: [{ message: { content: "ok" } }] });
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => console.log(`listening ${(server.address() as { port: number }).port}`));
