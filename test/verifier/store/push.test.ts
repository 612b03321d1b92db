/**
 * `upow store push` as a child process against s3rver: every artifact of a store directory goes to
 * the bucket under `<prefix>/artifacts/<sha256>`, readable through the existing fetch client; a
 * second push uploads nothing; a file damaged on disk is refused, not published.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { LocalStore, fetchArtifact } from "../../../verifier/store";
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from "../../helpers/s3";
import { makeTempDir } from "./helpers";

const UPOW = path.join(__dirname, "..", "..", "..", "bin", "upow.js");
const run = promisify(execFile);

describe("upow store push (CLI, s3rver)", function () {
  this.timeout(120_000);
  let s3: LocalS3;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  before(async function () {
    s3 = await startLocalS3();
    tmp = await makeTempDir("upow-push-");
  });
  after(async function () {
    await s3.close();
    await tmp.cleanup();
  });

  function push(dir: string, prefix: string): Promise<{ stdout: string }> {
    return run(
      process.execPath,
      [UPOW, "--json", "store", "push", "--dir", dir, "--s3-bucket", s3.bucket, "--s3-prefix", prefix, "--s3-endpoint", s3.endpoint],
      {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        },
      },
    );
  }

  it("uploads every artifact once, under the paths readers use", async function () {
    const store = await LocalStore.open(path.join(tmp.dir, "job"));
    const hashes = [await store.put(randomBytes(300)), await store.put(randomBytes(5000))];
    const first = JSON.parse((await push(store.root, "jobs/1")).stdout) as { publicBaseUrl: string; artifacts: number; uploaded: number };
    expect(first).to.deep.include({ publicBaseUrl: `${s3.endpoint}/${s3.bucket}/jobs/1`, artifacts: 2, uploaded: 2 });
    const reader = await LocalStore.open(path.join(tmp.dir, "reader"));
    for (const h of hashes) {
      await fetchArtifact({
        hash: h,
        uris: [`${first.publicBaseUrl}/artifacts/${h}`],
        store: reader,
        maxBytes: 1 << 20,
        urlPolicy: { allowPrivate: true },
        retries: 0,
      });
      expect((await reader.get(h)).equals(await store.get(h))).to.equal(true);
    }
    expect(JSON.parse((await push(store.root, "jobs/1")).stdout)).to.deep.include({ artifacts: 2, uploaded: 0 });
  });

  it("refuses a file damaged on disk (it would be published under an address it does not have)", async function () {
    const store = await LocalStore.open(path.join(tmp.dir, "damaged"));
    const h = await store.put(randomBytes(100));
    await writeFile(store.path(h), randomBytes(100));
    const failed = await push(store.root, "jobs/2").then(
      () => null,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(failed?.code).to.equal(1);
    expect(failed?.stderr).to.match(/ArtifactHashMismatchError|do not match/);
    const reader = await LocalStore.open(path.join(tmp.dir, "reader2"));
    const got = await fetchArtifact({
      hash: h,
      uris: [`${s3.endpoint}/${s3.bucket}/jobs/2/artifacts/${h}`],
      store: reader,
      maxBytes: 1 << 20,
      urlPolicy: { allowPrivate: true },
      retries: 0,
    }).then(
      () => "fetched",
      () => "absent",
    );
    expect(got).to.equal("absent");
  });
});
