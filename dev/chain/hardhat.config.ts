// Hardhat 3 refuses to run without a config file. Only `hardhat node` uses this one,
// so it keeps Hardhat's caches and artifacts out of the source tree.
import os from "node:os";
import path from "node:path";

const scratch = path.join(os.tmpdir(), "x402-test-chain-hardhat");

export default {
  // A real chain puts many transactions in one block; Hardhat's automine makes a block of
  // each, and without this every block would be a second later than the last, so under load
  // the chain's clock runs ahead of the wall clock and fresh authorizations read as expired.
  networks: { node: { type: "edr-simulated", chainType: "l1", allowBlocksWithSameTimestamp: true } },
  paths: {
    cache: path.join(scratch, "cache"),
    artifacts: path.join(scratch, "artifacts"),
  },
};
