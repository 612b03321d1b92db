import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_TEST_GET_TEST_FILES } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";
import path from "node:path";
import "./scripts/tasks";

// NatSpec → Markdown (`npm run docs` → docs/api/). Optional so the config loads without it.
try {
  require("solidity-docgen");
} catch {
  // solidity-docgen not installed: `hardhat docgen` is unavailable, everything else works.
}

const SOLC_VERSION = "0.8.28";

// No internet here: compile with the solc-js build pinned in package.json instead of downloading.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  const solcPackage = require("solc/package.json") as { version: string };
  if (solcPackage.version !== SOLC_VERSION) {
    throw new Error(`solc npm package is ${solcPackage.version}, hardhat.config.ts wants ${SOLC_VERSION}`);
  }
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: `${SOLC_VERSION}+commit.7893614a`,
  };
});

// `hardhat test` without files leaves out test/e2e/ (real child processes, minutes each: `npm run
// test:e2e`, run by .ci/run) and the invariant fuzzer, which `npm test` runs next in a process of its
// own: after the ~1,300 tests before it, the same 400 sequences took 3× as long (188 s vs 63 s).
// Test files named on the command line always run.
const SEPARATE_TEST_FILES = [
  path.join("test", "e2e") + path.sep,
  path.join("test", "browser") + path.sep,
  path.join("test", "contracts", "invariants.test.ts"),
];
subtask(TASK_TEST_GET_TEST_FILES, async (args: { testFiles: string[] }, _hre, runSuper) => {
  const files = (await runSuper(args)) as string[];
  if (args.testFiles.length !== 0) return files;
  const separate = SEPARATE_TEST_FILES.map((f) => path.join(__dirname, f));
  return files.filter((f) => !separate.some((s) => f.startsWith(s)));
});

const accounts = process.env.DEPLOYER_KEY ? [process.env.DEPLOYER_KEY] : [];

const config: HardhatUserConfig = {
  solidity: {
    compilers: [{ version: SOLC_VERSION, settings: { optimizer: { enabled: true, runs: 200 }, viaIR: false, evmVersion: "cancun" } }],
    // The dispute manager is the largest contract and is called far less than the job market:
    // optimise it for size (EIP-170).
    overrides: {
      "contracts/DisputeManager.sol": {
        version: SOLC_VERSION,
        settings: { optimizer: { enabled: true, runs: 1 }, viaIR: false, evmVersion: "cancun" },
      },
    },
  },
  networks: {
    hardhat: { accounts: { count: 30 } },
    localhost: { url: process.env.LOCALHOST_RPC_URL ?? "http://127.0.0.1:8545" },
    testnet: { url: process.env.RPC_URL ?? "http://127.0.0.1:8545", accounts },
  },
  mocha: { timeout: 600_000 },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
    outputFile: process.env.REPORT_GAS === "true" ? "bench/results/gas-contracts.md" : undefined,
    noColors: true,
    reportFormat: "markdown",
    offline: true,
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  // solidity-docgen 0.6 (its type augmentation is not imported, hence the cast below).
  ...({ docgen: { outputDir: "docs/api", pages: "files", exclude: ["test"], pageExtension: ".md" } } as object),
};

export default config;
