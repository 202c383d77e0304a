// Runs after `npm ci` / `npm install`, on the Node 24 that install just put in node_modules.
// npm itself runs on the machine's Node (20 here), and skips optional native packages
// whose `engines` ask for Node >= 22, such as the local chain's engine binding. This
// installs those bindings again under Node 24, where npm accepts them.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const NATIVE = [{ package: "@nomicfoundation/edr", binding: `@nomicfoundation/edr-${process.platform}-${process.arch}-gnu` }];

for (const { package: parent, binding } of NATIVE) {
  if (process.platform !== "linux" || !existsSync(`node_modules/${parent}`) || existsSync(`node_modules/${binding}`)) continue;
  const version = JSON.parse(readFileSync(`node_modules/${parent}/package.json`, "utf8")).version as string;
  const npm = process.env.npm_execpath;
  if (!npm) throw new Error("postinstall: run through npm (npm_execpath is not set)");
  console.log(`postinstall: installing ${binding}@${version} under Node ${process.version}`);
  const result = spawnSync(process.execPath, [npm, "install", "--no-save", "--no-audit", "--no-fund", "--ignore-scripts", `${binding}@${version}`], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
  require.resolve(binding);
}
