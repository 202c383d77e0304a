import { describe, expect, it } from "vitest";
import { createRegistry } from "./metrics.ts";

describe("metrics registry", () => {
  it("renders counters, gauges and histograms in the Prometheus text format", () => {
    const registry = createRegistry();
    const requests = registry.counter("x_requests_total", "Requests.");
    requests.inc({ route: "/a/*" });
    requests.inc({ route: "/a/*" }, 2);
    registry.gauge("x_up", "Up.").set(1);
    const latency = registry.histogram("x_seconds", "Latency.", [0.1, 1]);
    latency.observe(0.05, { route: 'q"uote' });
    latency.observe(0.5, { route: 'q"uote' });
    latency.observe(7, { route: 'q"uote' });
    expect(registry.render()).toBe(
      "# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\nx_requests_total{route=\"/a/*\"} 3\n" +
        "# HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n" +
        "# HELP x_seconds Latency.\n# TYPE x_seconds histogram\n" +
        'x_seconds_bucket{route="q\\"uote",le="0.1"} 1\nx_seconds_bucket{route="q\\"uote",le="1"} 2\n' +
        'x_seconds_bucket{route="q\\"uote",le="+Inf"} 3\nx_seconds_sum{route="q\\"uote"} 7.55\nx_seconds_count{route="q\\"uote"} 3\n',
    );
  });

  it("bound series add to the same values as labelled calls", () => {
    const registry = createRegistry();
    const requests = registry.counter("x_total", "Requests.");
    const bound = requests.labels({ route: "/a/*", status: "402" });
    bound.inc();
    bound.inc();
    requests.inc({ route: "/a/*", status: "402" });
    const latency = registry.histogram("x_seconds", "Latency.", [1]);
    latency.labels({ route: "/a/*" }).observe(0.5);
    latency.observe(2, { route: "/a/*" });
    expect(registry.render()).toContain('x_total{route="/a/*",status="402"} 3\n');
    expect(registry.render()).toContain('x_seconds_bucket{route="/a/*",le="1"} 1\nx_seconds_bucket{route="/a/*",le="+Inf"} 2\n');
  });
});
