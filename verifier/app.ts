// The verifier's HTTP surface as a hono app: /verify for Traefik, health, readiness and
// metrics for Kubernetes. The same app is served by Node and by Deno.
import { Hono } from "hono";
import type { Logger } from "../adapters/log.ts";
import { forwardAuth, type VerifierDeps } from "./forward-auth.ts";
import type { VerifierMetrics } from "./verifier-metrics.ts";


export function verifierApp(deps: VerifierDeps & { metrics: VerifierMetrics; log: Logger; ready(): boolean }): Hono {
  const app = new Hono();
  app.all("/verify", async (c) => {
    const started = performance.now();
    const raw = c.req.raw.headers;
    const { answer, route } = await forwardAuth((name) => raw.get(name), deps).catch((error) => {
      deps.log.error("verify failed", { error: String(error) });
      return { answer: { status: 503, headers: { "content-type": "application/json", "retry-after": "15" }, body: '{"error":"internal error; retry later"}' }, route: undefined };
    });
    deps.metrics.answered(route, answer.status, (performance.now() - started) / 1000);
    return new Response(answer.body === "" ? null : answer.body, { status: answer.status, headers: answer.headers });
  });
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", (c) => (deps.ready() ? c.text("ok") : c.text("no route table loaded yet", 503)));
  app.get("/metrics", (c) => c.text(deps.metrics.registry.render(), 200, { "content-type": "text/plain; version=0.0.4" }));
  return app;
}
