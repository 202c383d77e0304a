// The baseline for the verifier on Deno: Deno's own server answering the exact 402 the
// verifier answers (status, headers, body), precomputed once.
// Usage: deno run --allow-all bare-402-deno.ts PORT ANSWER_JSON_FILE
declare const Deno: {
  args: string[];
  readTextFileSync(path: string): string;
  serve(options: { hostname: string; port: number; onListen(): void }, handler: () => Response): unknown;
};

const [port, file] = Deno.args;
const answer = JSON.parse(Deno.readTextFileSync(file!)) as { status: number; headers: Record<string, string>; body: string };
const body = new TextEncoder().encode(answer.body);
Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen: () => console.log("listening") }, () => new Response(body, { status: answer.status, headers: answer.headers }));
