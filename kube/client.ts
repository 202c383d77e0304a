// A thin HTTP client for the API server: ClusterAccess (kubeconfig.ts) for where and
// who, node:http(s) for the wire. We send exactly the requests we mean, which
// matters for server-side apply and the status subresource, and we can test them.
import { Buffer } from "node:buffer";
import http from "node:http";
import https from "node:https";
import { KubeApiError, kindOfStatus } from "./errors.ts";
import type { ClusterAccess } from "./kubeconfig.ts";

export type Query = Record<string, string | number | boolean | undefined>;
export type RequestOptions = { body?: unknown; contentType?: string; query?: Query; timeoutMs?: number; accept?: string };

export type KubeClient = {
  readonly server: string;
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** A streaming GET (watch): calls onLine for each line until the server ends it or signal aborts. */
  stream(path: string, query: Query, onLine: (line: string) => void, signal: AbortSignal): Promise<void>;
};

const REQUEST_TIMEOUT_MS = 15_000;
/** Credentials are re-read this often, so rotated ServiceAccount tokens are picked up. */
const CREDENTIAL_TTL_MS = 60_000;

export function kubeClient(access: ClusterAccess, userAgent = "x402-operator"): KubeClient {
  const server = new URL(access.server);
  const secure = server.protocol === "https:";
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 32 }) : new http.Agent({ keepAlive: true, maxSockets: 32 });
  let credentials: { options: https.RequestOptions; expires: number } | undefined;
  const auth = async (): Promise<https.RequestOptions> => {
    if (!credentials || credentials.expires < Date.now()) {
      credentials = { options: await access.httpsOptions(), expires: Date.now() + CREDENTIAL_TTL_MS };
    }
    return credentials.options;
  };

  const send = async (method: string, path: string, query: Query | undefined, headers: Record<string, string>, body: string | undefined, timeoutMs: number, signal?: AbortSignal) => {
    const base = await auth();
    const url = new URL(server.pathname.replace(/\/$/, "") + path, server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const transport = secure ? https : http;
    return await new Promise<http.IncomingMessage>((resolve, reject) => {
      // Settled by the signal itself too: Deno's node:http does not always end a request
      // aborted while it waits for the response (a watch then hung its loop forever).
      const aborted = () => reject(new KubeApiError("unavailable", 0, `${method} ${path}: aborted`));
      if (signal?.aborted) return aborted();
      const req = transport.request(url, {
        ...base, method, agent, signal, timeout: timeoutMs,
        headers: { ...(base.headers as Record<string, string>), accept: "application/json", "user-agent": userAgent, ...headers },
      }, resolve);
      signal?.addEventListener("abort", () => (req.destroy(), aborted()), { once: true });
      req.on("timeout", () => req.destroy(new KubeApiError("unavailable", 0, `${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.on("error", (error) => reject(error instanceof KubeApiError ? error : new KubeApiError("unavailable", 0, `${method} ${path}: ${error.message}`)));
      req.end(body);
    });
  };

  return {
    server: server.toString(),
    async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
      const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      const headers: Record<string, string> = body === undefined ? {} : { "content-type": options.contentType ?? "application/json", "content-length": String(Buffer.byteLength(body)) };
      if (options.accept) headers.accept = options.accept;
      const response = await send(method, path, options.query, headers, body, options.timeoutMs ?? REQUEST_TIMEOUT_MS);
      const text = await readAll(response);
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) return (text ? JSON.parse(text) : undefined) as T;
      throw new KubeApiError(kindOfStatus(status), status, `${method} ${path}: ${status} ${statusMessage(text)}`);
    },
    async stream(path, query, onLine, signal) {
      const response = await send("GET", path, query, {}, undefined, 0, signal);
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        throw new KubeApiError(kindOfStatus(status), status, `watch ${path}: ${status} ${statusMessage(await readAll(response))}`);
      }
      response.setEncoding("utf8");
      let buffered = "";
      await new Promise<void>((resolve, reject) => {
        // Our abort ends the stream whether or not the runtime reports the response's end.
        const ended = () => (response.destroy(), resolve());
        if (signal.aborted) return ended();
        signal.addEventListener("abort", ended, { once: true });
        response.on("data", (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (line.trim()) onLine(line);
          }
        });
        response.on("end", resolve);
        response.on("close", resolve);
        response.on("error", (error) => (signal.aborted ? resolve() : reject(new KubeApiError("unavailable", 0, `watch ${path}: ${error.message}`))));
      });
    },
  };
}

async function readAll(response: http.IncomingMessage): Promise<string> {
  response.setEncoding("utf8");
  let text = "";
  for await (const chunk of response) text += chunk;
  return text;
}

function statusMessage(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
