/** Worker config rules added for protocol v3 V8.4 (the URL policy's switch, the public base URL) and the S3 mirror options. */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { workerConfig, WorkerConfigError } from "../../../verifier/worker/config";
import { parseWorkerStart, tempDir, testKey, withEnv } from "../cli/helpers";

const ADDR = "0x00000000000000000000000000000000000000aa";
const base = {
  rpcUrls: ["http://127.0.0.1:8545"],
  dataDir: "/tmp/w",
  jobMarket: ADDR,
  acceptedTokens: [{ address: ADDR, minRewardPerTflop: 0n }],
};

describe("worker config: artifact URLs (V8.4)", function () {
  it("refuses private artifact addresses by default", function () {
    expect(workerConfig(base).allowPrivateArtifacts).to.equal(false);
  });

  it("--allow-private-artifacts turns the allowance on", async function () {
    const dir = tempDir();
    const key = await testKey(dir);
    const parse = (extra: string[]) =>
      parseWorkerStart([
        "--data-dir",
        dir,
        "--job-market",
        ADDR,
        "--rpc-url",
        "http://127.0.0.1:8545",
        "--accept-token",
        ADDR,
        "--log-level",
        "silent",
        ...key.args,
        ...extra,
      ]);
    await withEnv({}, async () => {
      expect((await parse([])).allowPrivateArtifacts).to.equal(false);
      expect((await parse(["--allow-private-artifacts"])).allowPrivateArtifacts).to.equal(true);
    });
  });

  it("refuses a public base URL that verifiers would refuse: query, fragment, userinfo, not http(s)", function () {
    for (const publicBaseUrl of [
      "https://w.example.org/?",
      "https://w.example.org/#x",
      "https://u:p@w.example.org",
      "ftp://w.example.org",
    ]) {
      expect(() => workerConfig({ ...base, publicBaseUrl }), publicBaseUrl).to.throw(WorkerConfigError, /publicBaseUrl/);
    }
    expect(workerConfig({ ...base, publicBaseUrl: "http://127.0.0.1:8080" }).publicBaseUrl).to.equal("http://127.0.0.1:8080");
  });
});

describe("worker config: S3 mirror (--s3-*)", function () {
  async function parser(): Promise<(extra: string[]) => ReturnType<typeof parseWorkerStart>> {
    const dir = tempDir();
    const key = await testKey(dir);
    return (extra) =>
      parseWorkerStart([
        "--data-dir",
        dir,
        "--job-market",
        ADDR,
        "--rpc-url",
        "http://127.0.0.1:8545",
        "--accept-token",
        ADDR,
        "--log-level",
        "silent",
        ...key.args,
        ...extra,
      ]);
  }

  it("takes the bucket and its options from flags, UPOW_S3_* env and the config file; none: no mirror", async function () {
    const parse = await parser();
    await withEnv({}, async () => {
      expect((await parse([])).s3).to.equal(undefined);
      expect(
        (
          await parse([
            "--s3-bucket",
            "upow-art",
            "--s3-prefix",
            "w/1",
            "--s3-endpoint",
            "http://minio:9000",
            "--s3-region",
            "eu-west-1",
            "--s3-public-base-url",
            "https://cdn.example/w/1",
          ])
        ).s3,
      ).to.deep.equal({
        bucket: "upow-art",
        prefix: "w/1",
        endpoint: "http://minio:9000",
        region: "eu-west-1",
        publicBaseUrl: "https://cdn.example/w/1",
      });
    });
    await withEnv({ UPOW_S3_BUCKET: "env-bucket", UPOW_S3_PREFIX: "p" }, async () => {
      expect((await parse([])).s3).to.deep.equal({ bucket: "env-bucket", prefix: "p" });
    });
    const file = path.join(tempDir(), "worker.toml");
    writeFileSync(file, 's3Bucket = "file-bucket"\ns3Endpoint = "https://r2.example"\n');
    await withEnv({}, async () => {
      expect((await parse(["--config", file])).s3).to.deep.equal({ bucket: "file-bucket", endpoint: "https://r2.example" });
    });
  });

  it("refuses --s3-* options without a bucket (they would be silently ignored)", async function () {
    const parse = await parser();
    await withEnv({}, async () => {
      let error: unknown;
      await parse(["--s3-prefix", "p"]).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(WorkerConfigError);
      expect((error as WorkerConfigError).message).to.match(/--s3-bucket/);
    });
  });

  it("refuses S3 options readers or S3 would refuse: bucket name, prefix escaping with '..', a public base with a query", function () {
    for (const s3 of [
      { bucket: "Has_Caps" },
      { bucket: "ok-bucket", prefix: "../other" },
      { bucket: "ok-bucket", publicBaseUrl: "https://cdn.example/?sig=1" },
      { bucket: "ok-bucket", endpoint: "minio:9000" },
    ]) {
      expect(() => workerConfig({ ...base, s3 }), JSON.stringify(s3)).to.throw(WorkerConfigError, /invalid S3 option/);
    }
    expect(workerConfig({ ...base, s3: { bucket: "ok-bucket", prefix: "a/b" } }).s3).to.deep.equal({ bucket: "ok-bucket", prefix: "a/b" });
  });
});
