// The registration Component (manifests/registration) asks the controller for what it offers:
// the flags its patch appends parse as the controller parses them, and the key file is where
// the Secret is mounted.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { CONTROLLER_HELP } from "../cli/controller.ts";
import { registrationFromFlags } from "../cli/registration-flags.ts";

const here = dirname(fileURLToPath(import.meta.url));
const read = (file: string) => parse(readFileSync(join(here, file), "utf8"));

describe("manifests/registration", () => {
  const appended: string[] = read("registration/controller-args-patch.yaml").map((op: { value: string }) => op.value);
  const patch = read("registration/controller-patch.yaml");

  it("appends only flags the controller knows, each with a value it accepts", () => {
    const flags = appended.filter((a) => a.startsWith("--"));
    expect(flags).toEqual(["--registration-rpc", "--registration-key-file", "--public-url"]);
    for (const flag of flags) expect(CONTROLLER_HELP.includes(`${flag} `)).toBe(true);
    expect(() => registrationFromFlags({ "registration-rpc": [appended[1]!] }, {})).not.toThrow();
  });

  it("reads the key from where the Secret is mounted, on the controller's own container", () => {
    const container = patch.spec.template.spec.containers[0];
    expect(container.name).toBe(read("controller/deployment.yaml").spec.template.spec.containers[0].name);
    const mount = container.volumeMounts[0];
    const volume = patch.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
    expect(volume.secret.secretName).toBe("x402-registration-key");
    expect(appended[3]!.startsWith(`${mount.mountPath}/`)).toBe(true);
  });
});
