/**
 * S3ArtifactStore against a real S3-compatible server (s3rver on 127.0.0.1), read back through the
 * unchanged artifact fetch client: the bucket's anonymous HTTP URL is an artifact base URL.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  ArtifactFetchFailedError,
  ArtifactHashMismatchError,
  ArtifactNotFoundError,
  InvalidStoreOptionError,
  LocalStore,
  fetchArtifact,
  mirrorToRemote,
} from "../../../verifier/store";
import { S3ArtifactStore, S3StoreError, type S3StoreOptions } from "../../../verifier/store/s3Store";
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from "../../helpers/s3";
import { deadUrl, makeTempDir, rejectionOf } from "./helpers";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const FAST = { timeoutMs: 5_000, idleTimeoutMs: 2_000, retries: 0, backoffMs: 10, maxBackoffMs: 50 } as const;

describe("S3ArtifactStore (s3rver)", function () {
  this.timeout(60_000);
  let s3: LocalS3;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let n = 0;
  const stores: S3ArtifactStore[] = [];

  before(async function () {
    s3 = await startLocalS3();
    tmp = await makeTempDir("upow-s3store-");
  });
  after(async function () {
    for (const s of stores.splice(0)) s.close();
    await s3.close();
    await tmp.cleanup();
  });

  /** A store on its own prefix (tests do not see each other's objects) that records the S3 calls it sends. */
  function s3Store(over: Partial<S3StoreOptions> = {}): { store: S3ArtifactStore; calls: string[] } {
    const store = new S3ArtifactStore({
      bucket: s3.bucket,
      prefix: `t${n++}/jobs`,
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
      backoffMs: 1,
      ...over,
    });
    stores.push(store);
    const calls: string[] = [];
    store.client.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(context.commandName ?? "?");
        return next(args);
      },
      { step: "initialize", name: "recordCalls" },
    );
    return { store, calls };
  }

  /** Reads an address the way verifiers do: over HTTP from the public base, hash-checked, into a fresh LocalStore. */
  async function readBack(store: S3ArtifactStore, hash: string, maxBytes = 64 << 20): Promise<Buffer> {
    const local = await LocalStore.open(join(tmp.dir, `reader-${n++}`));
    await fetchArtifact({
      hash,
      uris: [`${store.publicBaseUrl}/artifacts/${hash}`],
      store: local,
      maxBytes,
      urlPolicy: { allowPrivate: true },
      ...FAST,
    });
    return local.get(hash);
  }

  it("puts bytes under <prefix>/artifacts/<sha256>; the public base URL serves them to the existing fetch client", async function () {
    const { store } = s3Store();
    const bytes = randomBytes(4096);
    const hash = await store.put(bytes);
    expect(hash).to.equal(sha(bytes));
    expect(store.key(hash)).to.equal(`${store.prefix}/artifacts/${hash}`);
    expect(store.publicBaseUrl).to.equal(`${s3.endpoint}/${s3.bucket}/${store.prefix}`);
    expect(store.location).to.equal(`s3://${s3.bucket}/${store.prefix}`);
    expect(await store.has(hash)).to.equal(true);
    expect(await store.has(sha(randomBytes(8)))).to.equal(false);
    expect((await readBack(store, hash)).equals(bytes)).to.equal(true);
  });

  it("is idempotent: a second put of the same content only HEADs; an object of another length under the key is replaced", async function () {
    const { store, calls } = s3Store();
    const bytes = randomBytes(1000);
    const hash = await store.put(bytes);
    expect(calls).to.deep.equal(["HeadObjectCommand", "PutObjectCommand"]);
    calls.length = 0;
    expect(await store.put(bytes)).to.equal(hash);
    expect(calls).to.deep.equal(["HeadObjectCommand"]);
    // A truncated leftover (an interrupted writer, someone else) under the address is not "present".
    await store.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: store.key(hash), Body: bytes.subarray(0, 10) }));
    calls.length = 0;
    await store.put(bytes);
    expect(calls).to.deep.equal(["HeadObjectCommand", "PutObjectCommand"]);
    expect((await readBack(store, hash)).equals(bytes)).to.equal(true);
  });

  it("uploads a file above the multipart threshold in parts, readable whole", async function () {
    const { store, calls } = s3Store({ multipartThresholdBytes: 1 << 20, partBytes: 5 << 20 });
    const bytes = randomBytes((6 << 20) + 123);
    const file = join(tmp.dir, "big.bin");
    await writeFile(file, bytes);
    const hash = await store.put({ path: file }, { expectedHash: sha(bytes) });
    expect(hash).to.equal(sha(bytes));
    expect(calls).to.deep.equal([
      "HeadObjectCommand",
      "CreateMultipartUploadCommand",
      "UploadPartCommand",
      "UploadPartCommand",
      "CompleteMultipartUploadCommand",
    ]);
    expect((await readBack(store, hash)).equals(bytes)).to.equal(true);
    calls.length = 0;
    await store.put(bytes); // in-memory bytes of the same content: already there
    expect(calls).to.deep.equal(["HeadObjectCommand"]);
  });

  it("never completes a multipart upload of a file rewritten while it uploads (aborted, nothing under the address)", async function () {
    const { store, calls } = s3Store({ multipartThresholdBytes: 1 << 20, partBytes: 5 << 20 });
    const bytes = randomBytes((5 << 20) + 7);
    const file = join(tmp.dir, "changing.bin");
    await writeFile(file, bytes);
    // The first part is read before this runs; the second is read from the rewritten file.
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "UploadPartCommand" && calls.filter((c) => c === "UploadPartCommand").length === 1) {
          await writeFile(file, randomBytes(bytes.length));
        }
        return next(args);
      },
      { step: "initialize", name: "rewriteFile" },
    );
    const error = await rejectionOf(store.put({ path: file }));
    expect(error).to.be.instanceOf(ArtifactHashMismatchError);
    expect((error as ArtifactHashMismatchError).expected).to.equal(sha(bytes));
    expect(calls).to.include("AbortMultipartUploadCommand");
    expect(calls).not.to.include("CompleteMultipartUploadCommand");
    expect(await store.has(sha(bytes))).to.equal(false);
  });

  it("refuses bytes that are not the expected address before sending anything", async function () {
    const { store, calls } = s3Store();
    const bytes = randomBytes(64);
    const wrong = sha(randomBytes(64));
    const error = await rejectionOf(store.put(bytes, { expectedHash: wrong }));
    expect(error).to.be.instanceOf(ArtifactHashMismatchError);
    expect(calls).to.deep.equal([]);
    expect(await store.has(wrong)).to.equal(false);
  });

  it("a corrupted object (other bytes under the key) is rejected by the reader's hash check; nothing is kept", async function () {
    const { store } = s3Store();
    const bytes = randomBytes(2048);
    const hash = await store.put(bytes);
    const forged = randomBytes(2048);
    await store.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: store.key(hash), Body: forged }));
    const stored = await store.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: store.key(hash) }));
    expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(forged)).to.equal(true);
    const local = await LocalStore.open(join(tmp.dir, "victim"));
    const error = await rejectionOf(
      fetchArtifact({
        hash,
        uris: [`${store.publicBaseUrl}/artifacts/${hash}`],
        store: local,
        maxBytes: 1 << 20,
        urlPolicy: { allowPrivate: true },
        ...FAST,
      }),
    );
    expect(error).to.be.instanceOf(ArtifactFetchFailedError);
    expect((error as ArtifactFetchFailedError).errors[0]).to.be.instanceOf(ArtifactHashMismatchError);
    expect(await local.list()).to.deep.equal([]);
  });

  it("names bucket, key and status when the bucket does not exist (no retry of a 4xx)", async function () {
    const { store, calls } = s3Store({ bucket: "no-such-bucket" });
    const bytes = randomBytes(16);
    const error = await rejectionOf(store.put(bytes));
    expect(error).to.be.instanceOf(S3StoreError);
    const e = error as S3StoreError;
    expect(e.bucket).to.equal("no-such-bucket");
    expect(e.key).to.equal(store.key(sha(bytes)));
    expect(e.status).to.equal(404);
    expect(e.message).to.include(`s3://no-such-bucket/${store.key(sha(bytes))}`);
    expect(calls).to.deep.equal(["HeadObjectCommand", "PutObjectCommand"]);
  });

  it("wrong credentials: the HEAD's 403 counts as absent (S3 without s3:ListBucket), the PutObject's 403 fails naming bucket and key", async function () {
    const { store, calls } = s3Store({ credentials: { accessKeyId: "NOT-A-KEY", secretAccessKey: "wrong" } });
    const bytes = randomBytes(16);
    const error = await rejectionOf(store.put(bytes));
    expect(error).to.be.instanceOf(S3StoreError);
    expect((error as S3StoreError).status).to.equal(403);
    expect((error as S3StoreError).operation).to.equal("PutObject");
    expect((error as S3StoreError).key).to.equal(store.key(sha(bytes)));
    expect(calls).to.deep.equal(["HeadObjectCommand", "PutObjectCommand"]);
  });

  it("retries an unreachable endpoint with backoff, then fails with an S3StoreError without status", async function () {
    const { store, calls } = s3Store({ endpoint: await deadUrl(), retries: 2 });
    const error = await rejectionOf(store.has(sha(randomBytes(8))));
    expect(error).to.be.instanceOf(S3StoreError);
    expect((error as S3StoreError).status).to.equal(undefined);
    expect((error as S3StoreError).operation).to.equal("HeadObject");
    expect(calls).to.deep.equal(["HeadObjectCommand", "HeadObjectCommand", "HeadObjectCommand"]);
  });

  it("mirrorToRemote copies local addresses once; a missing local address is an ArtifactNotFoundError", async function () {
    const { store } = s3Store();
    const local = await LocalStore.open(join(tmp.dir, "mirror-src"));
    const a = await local.put(randomBytes(100));
    const b = await local.put(randomBytes(200));
    expect(await mirrorToRemote(local, store, [a, b, a])).to.equal(2);
    expect(await mirrorToRemote(local, store, [a, b])).to.equal(0);
    expect((await readBack(store, b)).equals(await local.get(b))).to.equal(true);
    expect(await rejectionOf(mirrorToRemote(local, store, [sha(randomBytes(4))]))).to.be.instanceOf(ArtifactNotFoundError);
  });

  it("validates its options: bucket name, prefix segments, endpoint, public base URL, part size", function () {
    const base = { bucket: "ok-bucket", endpoint: "http://127.0.0.1:9" };
    for (const bad of [
      { bucket: "Bad_Bucket" },
      { prefix: "/lead" },
      { prefix: "a/../b" },
      { prefix: "trail/" },
      { endpoint: "ftp://x" },
      { endpoint: "http://h/path" },
      { publicBaseUrl: "https://cdn.example/p?sig=1" },
      { publicBaseUrl: "https://u:p@cdn.example/p" },
      { partBytes: 1 << 20 },
    ]) {
      expect(() => new S3ArtifactStore({ ...base, ...bad }), JSON.stringify(bad)).to.throw(InvalidStoreOptionError);
    }
    const aws = new S3ArtifactStore({ bucket: "ok-bucket", region: "eu-west-1", prefix: "p" });
    stores.push(aws);
    expect(aws.publicBaseUrl).to.equal("https://ok-bucket.s3.eu-west-1.amazonaws.com/p");
    const cdn = new S3ArtifactStore({ ...base, publicBaseUrl: "https://cdn.example/upow/" });
    stores.push(cdn);
    expect(cdn.publicBaseUrl).to.equal("https://cdn.example/upow");
    expect(cdn.key("a".repeat(64))).to.equal(`artifacts/${"a".repeat(64)}`);
  });
});
