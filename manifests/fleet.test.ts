// The fleet Component (manifests/fleet) asks the verifier for what it offers: the flags its
// patch appends parse as the verifier parses them, the password file is where the Secret is
// mounted, and the disruption budget and autoscaler select the verifier's own Pods.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { VERIFIER_HELP } from "../cli/verifier.ts";

const here = dirname(fileURLToPath(import.meta.url));
const read = (file: string) => parse(readFileSync(join(here, file), "utf8"));

describe("manifests/fleet", () => {
  const base = read("verifier/deployment.yaml");
  const patch = read("fleet/verifier-patch.yaml");
  const appended: string[] = read("fleet/verifier-args-patch.yaml").map((op: { value: string }) => op.value);

  it("appends only flags the verifier knows, each with its value", () => {
    const flags = appended.filter((a) => a.startsWith("--"));
    expect(flags).toEqual(["--replay-store", "--replay-store-password-file"]);
    for (const flag of flags) expect(VERIFIER_HELP.includes(`${flag} `)).toBe(true);
    expect(new URL(appended[1]!).protocol).toBe("redis:");
  });

  it("reads the password from where the Secret is mounted", () => {
    const mount = patch.spec.template.spec.containers[0].volumeMounts[0];
    const volume = patch.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
    expect(appended[3]!.startsWith(`${mount.mountPath}/`)).toBe(true);
    const secret = parseAllDocuments(readFileSync(join(here, "fleet/replay-store.yaml"), "utf8")).map((d) => d.toJS()).find((o) => o.kind === "Secret");
    expect(volume.secret.secretName).toBe(secret.metadata.name);
    expect(Object.keys(secret.stringData)).toContain(appended[3]!.split("/").at(-1));
  });

  it("runs several replicas, rolled one at a time, and keeps most of them through disruptions", () => {
    expect(patch.spec.replicas).toBeGreaterThan(1);
    expect(patch.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const pdb = read("fleet/pdb.yaml");
    expect(pdb.spec.minAvailable).toBeLessThan(patch.spec.replicas);
    expect(pdb.spec.selector.matchLabels).toEqual(base.spec.selector.matchLabels);
    const hpa = read("fleet/hpa.yaml");
    expect(hpa.spec.scaleTargetRef.name).toBe(base.metadata.name);
    expect(hpa.spec.minReplicas).toBeGreaterThan(pdb.spec.minAvailable - 1);
  });
});
