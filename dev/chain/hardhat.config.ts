// Hardhat 3 refuses to run without a config file. Only `hardhat node` uses this one,
// so it keeps Hardhat's caches and artifacts out of the source tree.
import os from "node:os";
import path from "node:path";

const scratch = path.join(os.tmpdir(), "x402-test-chain-hardhat");

export default {
  paths: {
    cache: path.join(scratch, "cache"),
    artifacts: path.join(scratch, "artifacts"),
  },
};
