// A supervised list-and-watch of one resource, the way a production informer should
// behave: relist on 410 Gone, restart with jittered exponential backoff on any other
// error, a watchdog that restarts a watch gone silent, and nothing lost when the API
// server is away (the caller keeps the last state it was given).
import type { Logger } from "../adapters/log.ts";
import type { KubeClient, Query } from "./client.ts";
import { type Backoff, backoffDelay } from "./backoff.ts";
import { isKubeError } from "./errors.ts";

export type KubeItem = { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };
export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export type ListWatchHandlers = {
  /** The full state after a (re)list: replace whatever was known. */
  onSync(items: KubeItem[]): void;
  onEvent(type: WatchEventType, item: KubeItem): void;
};

export type ListWatchOptions = {
  client: KubeClient;
  /** The collection path, e.g. /apis/obol.org/v1alpha1/paymentroutes. */
  path: string;
  labelSelector?: string;
  log: Logger;
  /** The server ends each watch after about this long; we then resume from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  /** No line (event or bookmark) for this long: assume the stream is dead and relist. */
  staleAfterMs?: number;
  backoff?: Backoff;
  random?: () => number;
  /** Told of each failed attempt (e.g. a 404: the kind's CRD is not installed). */
  onError?: (error: unknown) => void;
};

export type ListWatch = { stop(): Promise<void>; readonly synced: boolean; readonly healthy: boolean };

export function startListWatch(options: ListWatchOptions, handlers: ListWatchHandlers): ListWatch {
  const { client, path, log } = options;
  const timeoutSeconds = options.watchTimeoutSeconds ?? 240;
  const staleAfterMs = options.staleAfterMs ?? (timeoutSeconds + 60) * 1000;
  // Capped at 5 s: after an API server restart we are back within seconds, and the jitter spreads the load.
  const backoff = options.backoff ?? { initialMs: 250, maxMs: 5_000 };
  const random = options.random ?? Math.random;
  const stopper = new AbortController();
  let synced = false;
  let healthy = false;
  let resourceVersion: string | undefined;

  const list = async () => {
    const query: Query = { labelSelector: options.labelSelector };
    const result = await client.request<{ kind?: string; apiVersion?: string; metadata: { resourceVersion: string }; items: KubeItem[] }>("GET", path, { query });
    const kind = result.kind?.replace(/List$/, "");
    handlers.onSync(result.items.map((item) => ({ apiVersion: result.apiVersion, kind, ...item })));
    resourceVersion = result.metadata.resourceVersion;
    synced = true;
  };

  const watch = async () => {
    const aborter = new AbortController();
    const abort = () => aborter.abort();
    stopper.signal.addEventListener("abort", abort);
    // Stopped while the list was under way: the listener above came too late to hear it.
    if (stopper.signal.aborted) abort();
    let gone = false;
    let silent = false;
    let ended = false;
    const onSilence = () => {
      silent = true;
      abort();
    };
    let watchdog = setTimeout(onSilence, staleAfterMs);
    try {
      const query: Query = { watch: 1, resourceVersion, allowWatchBookmarks: true, timeoutSeconds, labelSelector: options.labelSelector };
      await client.stream(path, query, (line) => {
        if (ended) return;
        clearTimeout(watchdog);
        watchdog = setTimeout(onSilence, staleAfterMs);
        const event = JSON.parse(line) as { type: string; object: KubeItem & { code?: number; message?: string } };
        if (event.type === "ERROR") {
          gone = event.object.code === 410;
          if (!gone) log.warn("watch error event", { path, code: event.object.code, message: event.object.message });
          ended = true;
          // Not from inside this callback: when the server's end of the stream came in the same
          // chunk, an abort here destroys a socket already handed back to the agent, and that
          // error is uncaught (on Node and Deno alike: the process dies).
          queueMicrotask(abort);
          return;
        }
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
        if (event.type === "BOOKMARK") return;
        handlers.onEvent(event.type as WatchEventType, event.object);
      }, aborter.signal);
    } catch (error) {
      if (!aborter.signal.aborted) throw error;
    } finally {
      clearTimeout(watchdog);
      stopper.signal.removeEventListener("abort", abort);
    }
    // A watch cut by the watchdog may have missed events, and a 410 means our version is too old: relist.
    if (silent) log.warn("watch went silent; relisting", { path, staleAfterMs });
    if (gone || silent) resourceVersion = undefined;
  };

  const loop = async () => {
    let failures = 0;
    while (!stopper.signal.aborted) {
      try {
        if (resourceVersion === undefined) await list();
        healthy = true;
        const started = Date.now();
        await watch();
        // A watch that the server ends at once, again and again, must not spin.
        if (Date.now() - started < 1000 && !stopper.signal.aborted) {
          failures++;
          await sleep(backoffDelay(failures, backoff, random), stopper.signal);
        } else failures = 0;
      } catch (error) {
        if (stopper.signal.aborted) break;
        if (isKubeError(error, "gone")) {
          resourceVersion = undefined;
          continue;
        }
        healthy = false;
        failures++;
        options.onError?.(error);
        const delay = backoffDelay(failures, backoff, random);
        log.warn("list/watch failed; retrying", { path, error: (error as Error).message, failures, retryInMs: Math.round(delay) });
        await sleep(delay, stopper.signal);
      }
    }
  };
  const running = loop();

  return {
    async stop() {
      stopper.abort();
      await running;
    },
    get synced() {
      return synced;
    },
    get healthy() {
      return healthy;
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}
