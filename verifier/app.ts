// The verifier's HTTP surface as a hono app: /verify for Traefik, health, readiness and
// metrics for Kubernetes. The same app is served by Node and by Deno.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Hono } from "hono";
import type { Logger } from "../adapters/log.ts";
import { opsApp } from "../adapters/ops-app.ts";
import { type Answer, isSharedAnswer, refused, resourceUrl, RETRY_AFTER_SECONDS } from "./answer.ts";
import { discoveryDocument } from "./discovery.ts";
import { agentDocument, hostDocument } from "./agent-documents.ts";
import { REGISTRATION_PATH } from "../core/agent-registration.ts";
import { DEFAULT_NETWORKS } from "../core/networks.ts";
import type { AgentUriReader } from "./x402/agent-uri.ts";
import type { PricedRoute } from "./routes/priced-route.ts";
import type { Decision, VerifierDeps } from "./deps.ts";
import { forwardAuth } from "./forward-auth.ts";
import type { VerifierMetrics } from "./metrics.ts";

/**
 * discoverable: the routes /.well-known/x402 lists (admitted ones), and whose registration
 * documents are served; agentUri: reads an agent's URI on chain, for the host's document.
 */
export type AppDeps = VerifierDeps & { metrics: VerifierMetrics; log: Logger; ready(): boolean; discoverable?(): readonly PricedRoute[]; agentUri?: AgentUriReader };

/** /verify, measured and never throwing: an internal error is a 503, never a 500 (nor a 402). */
function verify(header: (name: string) => string | null, via: string | undefined, deps: AppDeps): Answer | Promise<Answer> {
  const started = performance.now();
  const measured = ({ answer, route }: Decision) => {
    deps.metrics.answered(route, answer.status, (performance.now() - started) / 1000);
    return answer;
  };
  let decision: Decision | Promise<Decision>;
  try {
    decision = forwardAuth(header, deps, via);
  } catch (error) {
    decision = internalError(error, deps);
  }
  // Most answers (the unpaid 402, free paths) are decided synchronously: answer in the same tick.
  if (decision instanceof Promise) return decision.catch((error) => internalError(error, deps)).then(measured);
  return measured(decision);
}

/** The answer when something of ours failed: not now, and no payment was taken. */
const INTERNAL_ERROR = refused(503, "internal error; retry later", { "retry-after": RETRY_AFTER_SECONDS });

function internalError(error: unknown, deps: AppDeps): Decision {
  deps.log.error("verify failed", { error: String(error) });
  return { answer: INTERNAL_ERROR };
}

/**
 * The `route` query of a request for /verify ("/verify" or "/verify?..."), or false for any
 * other target: both runtimes' fast paths take /verify by this one rule and leave the rest
 * to the app.
 */
function verifyTarget(target: string): { via?: string } | false {
  if (!target.startsWith("/verify")) return false;
  if (target.length === "/verify".length) return {};
  if (target["/verify".length] !== "?") return false;
  return { via: new URLSearchParams(target.slice("/verify?".length)).get("route") ?? undefined };
}

export function verifierApp(deps: AppDeps): Hono {
  const app = opsApp({ notReady: () => (deps.ready() ? undefined : "no route table loaded yet"), registry: deps.metrics.registry });
  app.all("/verify", async (c) => {
    const raw = c.req.raw.headers;
    return responseOf(await verify((name) => raw.get(name), c.req.query("route"), deps), deps);
  });
  // Reached through the gateway (manifests/verifier/well-known-route.yaml): the buyer's host is Traefik's X-Forwarded-Host.
  app.get("/.well-known/x402", (c) => {
    if (!deps.ready()) return c.json({ error: "no route table loaded yet; retry later" }, 503, { "retry-after": RETRY_AFTER_SECONDS });
    const h = c.req.raw.headers;
    const origin = resourceUrl(h.get("x-forwarded-proto"), h.get("x-forwarded-host") ?? h.get("host"), "/").slice(0, -1);
    const body = discoveryDocument(deps.discoverable?.() ?? [], origin, new Date(Number(deps.nowSeconds()) * 1000));
    return c.body(body, 200, { "content-type": "application/json", "cache-control": "max-age=60" });
  });
  // ERC-8004: each agent's document (its agentURI), and the host's (agent-documents.ts).
  app.get(REGISTRATION_PATH, async (c) => {
    if (!deps.ready()) return c.json({ error: "no route table loaded yet; retry later" }, 503, { "retry-after": RETRY_AFTER_SECONDS });
    const routes = deps.discoverable?.() ?? [];
    const agent = c.req.query("agent");
    const headers = { "cache-control": "max-age=60", "access-control-allow-origin": "*" };
    if (agent !== undefined) {
      const document = agentDocument(routes, agent);
      return document ? c.json(document, 200, headers) : c.json({ error: `no agent ${agent.slice(0, 256)} is registered here` }, 404);
    }
    const h = c.req.raw.headers;
    const origin = resourceUrl(h.get("x-forwarded-proto"), h.get("x-forwarded-host") ?? h.get("host"), "/").slice(0, -1);
    // The host is the buyer's to write: one that is no host gets a 400, never a 500.
    if (!URL.canParse(origin)) return c.json({ error: "the request's host is not a valid host" }, 400);
    return c.json(await hostDocument(routes, origin, deps.networks ?? DEFAULT_NETWORKS, deps.agentUri), 200, headers);
  });
  return app;
}

function responseOf(answer: Answer, deps: AppDeps): Response {
  try {
    return new Response(answer.body === "" ? null : answer.body, { status: answer.status, headers: answer.headers });
  } catch (error) {
    const fallback = internalError(error, deps).answer;
    return new Response(fallback.body, { status: fallback.status, headers: fallback.headers });
  }
}

/**
 * A Response per shared answer (the cached unpaid 402s), cloned for each request: a clone
 * copies headers Deno has already validated, where a new Response validates every byte of
 * the 402's long payment-required header again. At most one per cached answer.
 */
const templates = new WeakMap<Answer, Response>();
function cachedResponseOf(answer: Answer, deps: AppDeps): Response {
  if (!isSharedAnswer(answer)) return responseOf(answer, deps);
  let template = templates.get(answer);
  if (!template) templates.set(answer, template = responseOf(answer, deps));
  return template.clone();
}

/**
 * /verify for Deno's own server (Deno.serve), ahead of the app: no routing and no context
 * object per call, the target read from the request's URL string as it is.
 */
export function verifyFetchFastPath(deps: AppDeps) {
  return (request: Request): Response | Promise<Response> | undefined => {
    const url = request.url;
    const path = url.indexOf("/", url.indexOf("//") + 2);
    const target = path < 0 ? false : verifyTarget(url.slice(path));
    if (!target) return undefined;
    const headers = request.headers;
    const answer = verify((name) => headers.get(name), target.via, deps);
    return answer instanceof Promise ? answer.then((a) => responseOf(a, deps), (error) => responseOf(internalError(error, deps).answer, deps)) : cachedResponseOf(answer, deps);
  };
}

/**
 * The same /verify for Node's own server, without building a fetch Request and Response
 * per call: Traefik calls it for every request, so it is the one path worth the shortcut.
 */
export function verifyFastPath(deps: AppDeps) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const target = verifyTarget(req.url ?? "");
    if (!target) return false;
    const headers = req.headers;
    const answer = verify((name) => {
      const value = headers[name];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    }, target.via, deps);
    const send = (a: Answer) => {
      try {
        res.writeHead(a.status, a.headers);
        res.end(a.body);
      } catch (error) {
        // Every header value is validated before money moves; this is the last line, never a crash.
        deps.log.error("answer could not be sent", { status: a.status, error: String(error) });
        if (!res.headersSent) res.writeHead(INTERNAL_ERROR.status, INTERNAL_ERROR.headers);
        res.end(INTERNAL_ERROR.body);
      }
    };
    if (answer instanceof Promise) answer.then(send, (error) => send(internalError(error, deps).answer));
    else send(answer);
    return true;
  };
}
