// A test host of our own: a network namespace joined to this one by a veth pair, so an
// upstream can live at a real, non-loopback address (EndpointSlices refuse loopback).
import { execFileSync } from "node:child_process";

export type TestHost = {
  namespace: string;
  hostAddress: string;
  address: string;
  /**
   * `count` more addresses on the host's side, for processes that need one each: Traefik counts
   * an EndpointSlice address once, however many ports name it (the verifier fleet's replicas).
   */
  moreHostAddresses(count: number): string[];
  destroy(): void;
};

const run = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

/** index picks a /30 in 10.203.0.0/16, so parallel test runs can each have their own. */
export function createTestHost(name: string, index: number): TestHost {
  const namespace = `x402-${name}`;
  const hostSide = `x4h-${name}`.slice(0, 15);
  const nsSide = `x4n-${name}`.slice(0, 15);
  const base = index * 4;
  const hostAddress = `10.203.${Math.floor(base / 256)}.${(base % 256) + 1}`;
  const address = `10.203.${Math.floor(base / 256)}.${(base % 256) + 2}`;
  destroyQuietly(namespace, hostSide);
  run("netns", "add", namespace);
  run("link", "add", hostSide, "type", "veth", "peer", "name", nsSide);
  run("link", "set", nsSide, "netns", namespace);
  run("addr", "add", `${hostAddress}/30`, "dev", hostSide);
  run("link", "set", hostSide, "up");
  run("netns", "exec", namespace, "ip", "addr", "add", `${address}/30`, "dev", nsSide);
  run("netns", "exec", namespace, "ip", "link", "set", nsSide, "up");
  run("netns", "exec", namespace, "ip", "link", "set", "lo", "up");
  const moreHostAddresses = (count: number) =>
    Array.from({ length: count }, (_, k) => {
      const extra = `10.204.${Math.floor(base / 256)}.${(base % 256) + 1 + k}`;
      run("addr", "add", `${extra}/32`, "dev", hostSide);
      return extra;
    });
  return { namespace, hostAddress, address, moreHostAddresses, destroy: () => destroyQuietly(namespace, hostSide) };
}

function destroyQuietly(namespace: string, hostSide: string) {
  for (const args of [["link", "del", hostSide], ["netns", "del", namespace]]) {
    try {
      run(...args);
    } catch {
      // already gone
    }
  }
}
