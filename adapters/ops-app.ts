// What Kubernetes asks of every long-running process here: /healthz (alive), /readyz
// (ready to serve, or why not, as a 503) and /metrics (Prometheus text). One app, shared by
// the controller and the verifier, which add their own routes to it.
import { Hono } from "hono";
import type { Registry } from "./metrics.ts";

export type OpsOptions = {
  /** undefined when ready; otherwise why not, for the 503's body. */
  notReady(): string | undefined;
  registry: Registry;
};

export function opsApp({ notReady, registry }: OpsOptions): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", (c) => {
    const reason = notReady();
    return reason === undefined ? c.text("ok") : c.text(reason, 503);
  });
  app.get("/metrics", (c) => c.text(registry.render(), 200, { "content-type": "text/plain; version=0.0.4" }));
  return app;
}
