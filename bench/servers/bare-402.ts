// The baseline for the verifier's unpaid path: a bare node:http server answering the
// exact 402 the verifier answers (status, headers, body), precomputed once.
// Usage: bare-402.ts PORT ANSWER_JSON_FILE
import http from "node:http";
import { readFileSync } from "node:fs";

const [port, file] = process.argv.slice(2);
const answer = JSON.parse(readFileSync(file!, "utf8")) as { status: number; headers: Record<string, string>; body: string };
http.createServer((_req, res) => {
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}).listen(Number(port), "127.0.0.1", () => console.log("listening"));
