import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../dev/process.ts";
import { jsonLogger } from "../adapters/log.ts";
import { kubeClient } from "./client.ts";
import { type KubeItem, startListWatch } from "./list-watch.ts";
import { type Recorded, startTestApiServer } from "./test-server.ts";

const quiet = jsonLogger({}, () => {});
const item = (name: string, rv: string): KubeItem => ({ apiVersion: "obol.org/v1alpha1", kind: "PaymentRoute", metadata: { name, namespace: "a", resourceVersion: rv } });
const until = (check: () => boolean) => waitFor("condition", async () => check(), 5000);
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe("startListWatch", () => {
  it("lists, watches from the list's resourceVersion, relists on 410 Gone and retries after errors", async () => {
    let lists = 0;
    let watches = 0;
    const server = await startTestApiServer((req: Recorded) => {
      if (!req.query.watch) {
        lists++;
        if (lists === 2) return { status: 500, body: { message: "etcd hiccup" } };
        return { body: { kind: "PaymentRouteList", apiVersion: "obol.org/v1alpha1", metadata: { resourceVersion: `${lists * 10}` }, items: [{ metadata: { name: `r${lists}`, namespace: "a", resourceVersion: "1" } }] } };
      }
      watches++;
      if (watches === 1) {
        return { stream: (write) => {
          write({ type: "ADDED", object: item("new", "11") });
          write({ type: "BOOKMARK", object: { metadata: { resourceVersion: "12" } } });
          write({ type: "ERROR", object: { kind: "Status", code: 410, message: "too old" } });
        } };
      }
      return { stream: () => {} }; // stays open
    });
    cleanup.push(server.close);
    const synced: string[][] = [];
    const events: string[] = [];
    const watch = startListWatch(
      { client: kubeClient(server.kubeConfig), path: "/apis/obol.org/v1alpha1/paymentroutes", log: quiet, backoff: { initialMs: 10, maxMs: 20 } },
      { onSync: (items) => synced.push(items.map((i) => `${i.kind}/${i.metadata.name}`)), onEvent: (type, i) => events.push(`${type} ${i.metadata.name}`) },
    );
    cleanup.push(watch.stop);
    await until(() => synced.length === 2);
    expect(synced).toEqual([["PaymentRoute/r1"], ["PaymentRoute/r3"]]);
    expect(events).toEqual(["ADDED new"]);
    const watchRequests = server.requests.filter((r) => r.query.watch);
    expect(watchRequests[0]?.query).toMatchObject({ watch: "1", resourceVersion: "10", allowWatchBookmarks: "true" });
    expect(watchRequests[0]?.authorization).toBe("Bearer test-token");
    await until(() => server.requests.filter((r) => r.query.watch).length === 2);
    expect(server.requests.filter((r) => r.query.watch)[1]?.query.resourceVersion).toBe("30");
  });

  it("relists when a watch goes silent", async () => {
    let lists = 0;
    const server = await startTestApiServer((req) => {
      if (!req.query.watch) return { body: { kind: "PaymentRouteList", metadata: { resourceVersion: String(++lists) }, items: [] } };
      return { stream: () => {} };
    });
    cleanup.push(server.close);
    const watch = startListWatch(
      { client: kubeClient(server.kubeConfig), path: "/apis/obol.org/v1alpha1/paymentroutes", log: quiet, staleAfterMs: 100 },
      { onSync: () => {}, onEvent: () => {} },
    );
    cleanup.push(watch.stop);
    await until(() => lists >= 3);
    expect(watch.synced).toBe(true);
  });

  it("keeps trying while the API server is down and recovers without losing the last state", async () => {
    let up = false;
    const server = await startTestApiServer((req) => {
      if (!up) return { status: 503, body: { message: "down" } };
      if (!req.query.watch) return { body: { kind: "PaymentRouteList", metadata: { resourceVersion: "5" }, items: [item("x", "5")] } };
      return { stream: () => {} };
    });
    cleanup.push(server.close);
    const syncs: number[] = [];
    const watch = startListWatch(
      { client: kubeClient(server.kubeConfig), path: "/p", log: quiet, backoff: { initialMs: 10, maxMs: 40 } },
      { onSync: (items) => syncs.push(items.length), onEvent: () => {} },
    );
    cleanup.push(watch.stop);
    await until(() => server.requests.length >= 3);
    expect(watch.healthy).toBe(false);
    expect(syncs).toEqual([]);
    up = true;
    await until(() => syncs.length === 1);
    expect(watch.healthy).toBe(true);
  });

  it("survives a 410 that the server follows at once with the end of the stream", async () => {
    let lists = 0;
    const server = await startTestApiServer((req) => {
      if (!req.query.watch) return { body: { kind: "PaymentRouteList", metadata: { resourceVersion: String(++lists) }, items: [] } };
      return { stream: (write, end) => (write({ type: "ERROR", object: { kind: "Status", code: 410, message: "too old" } }), end()) };
    });
    cleanup.push(server.close);
    const watch = startListWatch(
      { client: kubeClient(server.kubeConfig), path: "/p", log: quiet, backoff: { initialMs: 10, maxMs: 20 } },
      { onSync: () => {}, onEvent: () => {} },
    );
    cleanup.push(watch.stop);
    await until(() => lists >= 3);
    expect(watch.healthy).toBe(true);
  });

  it("stops at once when stopped while a list is under way, though the server would hold the watch open", async () => {
    let answerList!: () => void;
    const listing = new Promise<void>((r) => (answerList = r));
    const server = await startTestApiServer(async (req) => {
      if (req.query.watch) return { stream: () => {} }; // never ends on its own
      await listing;
      return { body: { kind: "PaymentRouteList", metadata: { resourceVersion: "1" }, items: [] } };
    });
    cleanup.push(server.close);
    const watch = startListWatch({ client: kubeClient(server.kubeConfig), path: "/p", log: quiet }, { onSync: () => {}, onEvent: () => {} });
    await until(() => server.requests.length === 1);
    const stopped = watch.stop();
    answerList();
    await stopped;
    expect(server.requests.filter((r) => r.query.watch).length).toBeLessThanOrEqual(1);
  });
});

