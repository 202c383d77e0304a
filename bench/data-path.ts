// The data path against the same upstream reached directly: time to first token and tokens
// per second of a streamed answer (paid, verify-only, on a real chain), and the verifier's
// memory with many streams in flight. The upstream answers like a model (first token after
// 150 ms, then a token every 5 ms), so the ratios say what the verifier adds to what a buyer
// sees, not what a loopback socket costs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChain } from "../dev/chain/chain.ts";
import { freePort } from "../dev/free-port.ts";
import { deploymentMemoryLimit, memoryCgroup } from "../dev/memory-limit.ts";
import { command, httpReady, PROJECT_ROOT, type Running, start, startProcess, waitFor } from "../dev/process.ts";
import { freshPayments } from "./fresh-payments.ts";
import { figure, type Figure, median, round } from "./stats.ts";

const STREAMS_PER_ROUND = 20;
const CONCURRENT_STREAMS = 1000;

export async function dataPathFigures(rounds: number): Promise<Figure[]> {
  const chain = await startChain();
  const dir = mkdtempSync(join(tmpdir(), "x402-bench-data-path-"));
  const processes: Running[] = [];
  let cgroupToRemove: { remove(): void } | undefined;
  try {
    const [upstreamPort, verifierPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    const upstream = start("node", "bench/servers/llm-upstream.ts", [String(upstreamPort)]);
    processes.push(upstream);
    const payTo = chain.accounts[9]!.address;
    writeFileSync(join(dir, "routes.yaml"), `apiVersion: obol.org/v1alpha1
kind: PaymentRoute
metadata: {name: llm-payment, namespace: shop}
spec: {pattern: "/services/llm/*", price: "0.001", payTo: "${payTo}", network: base-sepolia, upstream: {url: "http://127.0.0.1:${upstreamPort}", stripPrefix: /services/llm}}
`);
    // Under the memory limit of its Deployment, as the kubelet would run it.
    const [file, argv] = command("node", join(PROJECT_ROOT, "main.ts"), [
      "verifier", "--routes", join(dir, "routes.yaml"), "--listen", `127.0.0.1:${verifierPort}`, "--data-path-listen", `127.0.0.1:${proxyPort}`,
      "--facilitator", "local", "--rpc", `base-sepolia=${chain.rpcUrl}`, "--verify-only", "--max-concurrent-payments", String(CONCURRENT_STREAMS),
    ]);
    const limit = deploymentMemoryLimit("verifier");
    const cgroup = memoryCgroup("bench-verifier", limit);
    cgroupToRemove = cgroup;
    const verifier = cgroup ? startProcess(...cgroup.wrap(file, argv)) : startProcess(file, argv);
    processes.push(verifier);
    await waitFor("upstream", async () => upstream.output().includes("listening"), 30_000, upstream);
    await waitFor("verifier", () => httpReady(`http://127.0.0.1:${verifierPort}/readyz`), 30_000, verifier);

    const payment = freshPayments(chain, payTo);
    const body = JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "hi" }] });
    /** One streamed answer: when its first token came, and its tokens per second after that. */
    const stream = async (url: string, headers: Record<string, string>) => {
      const started = performance.now();
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
      if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
      const reader = response.body!.getReader();
      let first = 0;
      let tokens = 0;
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        if (first === 0) first = performance.now();
        tokens += (new TextDecoder().decode(chunk.value).match(/"content"/g) ?? []).length;
      }
      const seconds = (performance.now() - first) / 1000;
      return { ttft: first - started, tokensPerSecond: (tokens - 1) / seconds };
    };
    const direct = `http://127.0.0.1:${upstreamPort}/v1/chat/completions`;
    const proxied = `http://127.0.0.1:${proxyPort}/services/llm/v1/chat/completions`;
    await stream(direct, {});
    await stream(proxied, { "x-payment": await payment() });

    const ttftRatios: number[] = [];
    const rateRatios: number[] = [];
    const added: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const headers = await Promise.all(Array.from({ length: STREAMS_PER_ROUND }, payment));
      const viaDirect: { ttft: number; tokensPerSecond: number }[] = [];
      const viaProxy: { ttft: number; tokensPerSecond: number }[] = [];
      for (const header of headers) {
        viaDirect.push(await stream(direct, {}));
        viaProxy.push(await stream(proxied, { "x-payment": header }));
      }
      const ttft = (xs: typeof viaDirect) => median(xs.map((x) => x.ttft));
      const rate = (xs: typeof viaDirect) => median(xs.map((x) => x.tokensPerSecond));
      ttftRatios.push(round(ttft(viaProxy) / ttft(viaDirect), 3));
      rateRatios.push(round(rate(viaProxy) / rate(viaDirect), 3));
      added.push(round(ttft(viaProxy) - ttft(viaDirect), 1));
    }

    // Memory with many streams in flight at once: each holds its answer open for about a second.
    const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${verifier.child.pid}/status`, "utf8"))![1]) / 1024;
    const idle = rssMb();
    const headers = await Promise.all(Array.from({ length: CONCURRENT_STREAMS }, payment));
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 50);
    const results = await Promise.allSettled(headers.map((header) => stream(proxied, { "x-payment": header })));
    clearInterval(sampler);
    const served = results.filter((r) => r.status === "fulfilled").length;

    return [
      figure("data_path_ttft_ratio", "time to first token of a paid (verify-only) streamed answer through the data path / straight to the upstream (150 ms model)", "<= 1.1", ttftRatios),
      figure("data_path_ttft_added_ms", "time to first token the data path adds (verification on a local chain, proxying)", "report", added, { unit: "ms" }),
      figure("data_path_tokens_per_s_ratio", "tokens per second after the first, through the data path / straight to the upstream", ">= 0.95", rateRatios),
      figure(
        "data_path_rss_1000_streams_mb",
        `verifier RSS at peak with ${CONCURRENT_STREAMS} paid streams in flight (idle: ${round(idle, 0)} MB; ${served} served; ${cgroup ? `under the Deployment's ${round(limit / 2 ** 20, 0)} MiB limit` : "no memory cgroup here: unconstrained"})`,
        "report",
        [round(peak, 0)],
        { unit: "MB" },
      ),
    ];
  } finally {
    for (const p of processes) await p.stop();
    cgroupToRemove?.remove();
    rmSync(dir, { recursive: true, force: true });
    await chain.stop();
  }
}
