/** Worker config rules added for protocol v3 V8.4 (the URL policy's switch, the public base URL). */
import { expect } from "chai";
import { Command } from "commander";
import { addWorkerOptions, configFromCli, workerConfig, WorkerConfigError, type WorkerCliOptions } from "../../../verifier/worker/config";

const ADDR = "0x00000000000000000000000000000000000000aa";
const base = { rpcUrls: ["http://127.0.0.1:8545"], dataDir: "/tmp/w", jobMarket: ADDR, acceptedTokens: [{ address: ADDR, minRewardPerTflop: 0n }] };

describe("worker config: artifact URLs (V8.4)", function () {
  it("refuses private artifact addresses by default", function () {
    expect(workerConfig(base).allowPrivateArtifacts).to.equal(false);
  });

  it("--allow-private-artifacts turns the allowance on", function () {
    const parse = (extra: string[]) => {
      const cmd = addWorkerOptions(new Command()).exitOverride();
      cmd.parse(["--data-dir", "/tmp/w", "--job-market", ADDR, "--rpc-url", "http://127.0.0.1:8545", "--accept-token", ADDR, ...extra], { from: "user" });
      return configFromCli(cmd.opts<WorkerCliOptions>());
    };
    const saved = process.env.UPOW_ALLOW_PRIVATE_ARTIFACTS;
    delete process.env.UPOW_ALLOW_PRIVATE_ARTIFACTS;
    try {
      expect(parse([]).allowPrivateArtifacts).to.equal(false);
      expect(parse(["--allow-private-artifacts"]).allowPrivateArtifacts).to.equal(true);
    } finally {
      if (saved !== undefined) process.env.UPOW_ALLOW_PRIVATE_ARTIFACTS = saved;
    }
  });

  it("refuses a public base URL that verifiers would refuse: query, fragment, userinfo, not http(s)", function () {
    for (const publicBaseUrl of ["https://w.example.org/?", "https://w.example.org/#x", "https://u:p@w.example.org", "ftp://w.example.org"]) {
      expect(() => workerConfig({ ...base, publicBaseUrl }), publicBaseUrl).to.throw(WorkerConfigError, /publicBaseUrl/);
    }
    expect(workerConfig({ ...base, publicBaseUrl: "http://127.0.0.1:8080" }).publicBaseUrl).to.equal("http://127.0.0.1:8080");
  });
});
