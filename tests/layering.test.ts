// The layers, checked: imports point one way, core <- adapters <- kube <- controller | verifier
// <- cli <- main, and no room imports a room that imports it back. CONTRIBUTING.md says why
// each rule is there; this test is what keeps them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The product: what the image ships. Everything else (dev/, tests/, bench/) sits on top of it. */
const PRODUCT_ROOMS = ["core", "adapters", "kube", "controller", "verifier", "cli"];

/** Which rooms each product room may import from (besides itself), and which packages. */
const MAY_IMPORT: Record<string, { rooms: string[]; packages: RegExp }> = {
  core: { rooms: [], packages: /^valibot$/ },
  adapters: { rooms: [], packages: /^(node:|hono$|@hono\/node-server$|yaml$|iovalkey$)/ },
  // The toolkit reads the Kubernetes object shapes core defines (core/kube.ts), nothing else of the product.
  kube: { rooms: ["adapters", "core/kube.ts"], packages: /^(node:|valibot$|yaml$|@kubernetes\/client-node$)/ },
  // viem: the registrar reads and writes ERC-8004 Identity Registries (controller/identity-registry.ts).
  controller: { rooms: ["core", "adapters", "kube"], packages: /^(node:|valibot$|viem($|\/))/ },
  "verifier/routes": { rooms: ["core", "adapters", "kube"], packages: /^(node:|valibot$|yaml$)/ },
  "verifier/x402": { rooms: ["core", "adapters", "verifier/routes"], packages: /^(node:|valibot$|viem($|\/))/ },
  verifier: { rooms: ["core", "adapters", "kube", "verifier/routes", "verifier/x402"], packages: /^(node:|valibot$|hono$|viem($|\/))/ },
  cli: { rooms: ["core", "adapters", "kube", "controller", "verifier", "verifier/routes", "verifier/x402"], packages: /^(node:|viem($|\/)|yaml$)/ },
  "main.ts": { rooms: ["cli", "adapters"], packages: /^node:/ },
  "mod.ts": { rooms: ["core"], packages: /^$/ },
};

const isTestFile = (file: string) => /(\.test\.ts|\.contract\.ts|[/.]test-support\.ts|\/test-server\.ts)$/.test(file);

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(ROOT, path)).isDirectory()) return sourcesUnder(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The room a file lives in: a top-level folder, or a verifier subfolder, or a root file. */
export function roomOf(file: string): string {
  const parts = file.split("/");
  if (parts.length === 1) return file;
  if (parts[0] === "verifier" && parts.length > 2) return `verifier/${parts[1]}`;
  return parts[0]!;
}

export function importsOf(source: string): string[] {
  // Comments may show imports (a doc comment's example): only code counts.
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const pattern = /(?:^|[\s;])(?:import|export)\b[^;"']*?\bfrom\s+["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm;
  return [...text.matchAll(pattern)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

type Edge = { from: string; to: string; specifier: string };

function edgesOf(file: string): Edge[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return importsOf(text).map((specifier) => {
    if (!specifier.startsWith(".")) return { from: file, to: specifier, specifier };
    return { from: file, to: relative(ROOT, normalize(join(ROOT, dirname(file), specifier))), specifier };
  });
}

const productFiles = [...PRODUCT_ROOMS.flatMap(sourcesUnder), "main.ts", "mod.ts"].filter((f) => !isTestFile(f));

function allowed(edge: Edge): boolean {
  const from = roomOf(edge.from);
  const rule = MAY_IMPORT[from]!;
  if (!edge.specifier.startsWith(".")) return rule.packages.test(edge.to);
  const to = roomOf(edge.to);
  return to === from || rule.rooms.includes(to) || rule.rooms.includes(edge.to);
}

describe("layering", () => {
  it("finds the product's files and their imports", () => {
    expect(productFiles.length).toBeGreaterThan(80);
    expect(importsOf(`import { a } from "./a.ts";\nexport type { B } from "../b.ts";\nconst c = await import("./c.ts");`)).toEqual(["./a.ts", "../b.ts", "./c.ts"]);
    expect(importsOf(`/**\n * import { x } from "elsewhere";\n */\n// import "./no.ts";\nimport "./side-effect.ts";`)).toEqual(["./side-effect.ts"]);
  });

  it("tells an import up a layer from one down", () => {
    const edge = (from: string, specifier: string): Edge => ({ from, specifier, to: specifier.startsWith(".") ? relative(ROOT, normalize(join(ROOT, dirname(from), specifier))) : specifier });
    expect(allowed(edge("kube/informer.ts", "../core/kube.ts"))).toBe(true);
    expect(allowed(edge("kube/informer.ts", "../core/service-offer.ts"))).toBe(false);
    expect(allowed(edge("verifier/routes/set.ts", "../x402/reasons.ts"))).toBe(false);
    expect(allowed(edge("verifier/x402/facilitator.ts", "../routes/priced-route.ts"))).toBe(true);
    expect(allowed(edge("controller/controller.ts", "../verifier/app.ts"))).toBe(false);
    expect(allowed(edge("core/price.ts", "node:fs"))).toBe(false);
    expect(allowed(edge("cli/verifier.ts", "../dev/stack.ts"))).toBe(false);
  });

  it.each(productFiles)("%s imports only from the layers below it", (file) => {
    const wrong = edgesOf(file).filter((edge) => !allowed(edge)).map((e) => `${e.specifier} (${roomOf(e.to)})`);
    expect(wrong).toEqual([]);
  });

  it("no two rooms import each other, through any path", () => {
    const graph = new Map<string, Set<string>>();
    for (const file of productFiles) {
      for (const edge of edgesOf(file)) {
        if (!edge.specifier.startsWith(".")) continue;
        const [from, to] = [roomOf(edge.from), roomOf(edge.to)];
        if (from !== to) graph.set(from, (graph.get(from) ?? new Set()).add(to));
      }
    }
    const cycles: string[] = [];
    const visit = (room: string, path: string[]) => {
      if (path.includes(room)) return void cycles.push([...path.slice(path.indexOf(room)), room].join(" -> "));
      for (const next of graph.get(room) ?? []) visit(next, [...path, room]);
    };
    for (const room of graph.keys()) visit(room, []);
    expect(cycles).toEqual([]);
  });

  it("no two files import each other, through any path", () => {
    const imports = new Map(productFiles.map((file) => [file, edgesOf(file).filter((e) => e.specifier.startsWith(".")).map((e) => e.to)]));
    const state = new Map<string, "visiting" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") return void cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      state.set(file, "visiting");
      for (const next of imports.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, "done");
    };
    for (const file of productFiles) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("nothing in the product imports the local stack, the tests or the benchmarks", () => {
    const reaching = productFiles.flatMap(edgesOf).filter((e) => /^(dev|tests|bench)\//.test(e.to));
    expect(reaching.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });
});
