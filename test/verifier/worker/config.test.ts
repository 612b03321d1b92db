/** Worker config rules added for protocol v3 V8.4 (the URL policy's switch, the public base URL). */
import { expect } from "chai";
import { workerConfig, WorkerConfigError } from "../../../verifier/worker/config";
import { parseWorkerStart, tempDir, testKey, withEnv } from "../cli/helpers";

const ADDR = "0x00000000000000000000000000000000000000aa";
const base = { rpcUrls: ["http://127.0.0.1:8545"], dataDir: "/tmp/w", jobMarket: ADDR, acceptedTokens: [{ address: ADDR, minRewardPerTflop: 0n }] };

describe("worker config: artifact URLs (V8.4)", function () {
  it("refuses private artifact addresses by default", function () {
    expect(workerConfig(base).allowPrivateArtifacts).to.equal(false);
  });

  it("--allow-private-artifacts turns the allowance on", async function () {
    const dir = tempDir();
    const key = await testKey(dir);
    const parse = (extra: string[]) => parseWorkerStart([
      "--data-dir", dir, "--job-market", ADDR, "--rpc-url", "http://127.0.0.1:8545", "--accept-token", ADDR, "--log-level", "silent", ...key.args, ...extra,
    ]);
    await withEnv({}, async () => {
      expect((await parse([])).allowPrivateArtifacts).to.equal(false);
      expect((await parse(["--allow-private-artifacts"])).allowPrivateArtifacts).to.equal(true);
    });
  });

  it("refuses a public base URL that verifiers would refuse: query, fragment, userinfo, not http(s)", function () {
    for (const publicBaseUrl of ["https://w.example.org/?", "https://w.example.org/#x", "https://u:p@w.example.org", "ftp://w.example.org"]) {
      expect(() => workerConfig({ ...base, publicBaseUrl }), publicBaseUrl).to.throw(WorkerConfigError, /publicBaseUrl/);
    }
    expect(workerConfig({ ...base, publicBaseUrl: "http://127.0.0.1:8080" }).publicBaseUrl).to.equal("http://127.0.0.1:8080");
  });
});
