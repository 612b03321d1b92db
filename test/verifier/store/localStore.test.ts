import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  ArtifactHashMismatchError,
  ArtifactNotFoundError,
  ArtifactTooLargeError,
  InvalidArtifactHashError,
  InvalidStoreOptionError,
  LocalStore,
  toArtifactHash,
} from "../../../verifier/store";
import { expectStoreHolds, makeTempDir, rejectionOf } from "./helpers";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("LocalStore", function () {
  let store: LocalStore;
  let cleanup: () => Promise<void>;

  beforeEach(async function () {
    const tmp = await makeTempDir();
    cleanup = tmp.cleanup;
    store = await LocalStore.open(join(tmp.dir, "store"));
  });
  afterEach(async function () {
    await cleanup();
  });

  describe("when putting a buffer", function () {
    it("stores it under <root>/ab/cdef... named by its plain sha256", async function () {
      const bytes = randomBytes(1000);
      const hash = await store.put(bytes);
      expect(hash).to.equal(sha(bytes));
      expect(store.path(hash)).to.equal(join(store.root, hash.slice(0, 2), hash.slice(2)));
      expect(await readFile(store.path(hash))).to.deep.equal(bytes);
      expect(await store.get(hash)).to.deep.equal(bytes);
      expect(await store.has(hash)).to.equal(true);
      expect(await store.size(hash)).to.equal(1000);
      expect(await store.list()).to.deep.equal([hash]);
      await expectStoreHolds(store, [hash]);
    });

    it("stores the empty artifact", async function () {
      const hash = await store.put(new Uint8Array(0));
      expect(hash).to.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
      expect(await store.size(hash)).to.equal(0);
    });

    it("is idempotent and lists hashes sorted", async function () {
      const a = await store.put(Buffer.from("a"));
      const b = await store.put(Buffer.from("b"));
      expect(await store.put(Buffer.from("a"))).to.equal(a);
      expect(await store.list()).to.deep.equal([a, b].sort());
    });

    it("refuses bytes that do not match expectedHash or exceed maxBytes", async function () {
      const bytes = Buffer.from("hello");
      const other = sha(Buffer.from("other"));
      const mismatch = await rejectionOf(store.put(bytes, { expectedHash: other }));
      expect(mismatch).to.be.instanceOf(ArtifactHashMismatchError);
      expect((mismatch as ArtifactHashMismatchError).actual).to.equal(sha(bytes));
      expect(await rejectionOf(store.put(bytes, { maxBytes: 4 }))).to.be.instanceOf(ArtifactTooLargeError);
      await expectStoreHolds(store, []);
    });
  });

  describe("when putting a stream", function () {
    it("hashes while writing and gives the same address as the buffer", async function () {
      const bytes = randomBytes(300_000);
      const chunks = [bytes.subarray(0, 7), bytes.subarray(7, 100_000), bytes.subarray(100_000)];
      const hash = await store.put(Readable.from(chunks));
      expect(hash).to.equal(sha(bytes));
      expect(await store.get(hash)).to.deep.equal(bytes);
      await expectStoreHolds(store, [hash]);
    });

    it("leaves no partial file when the stream exceeds maxBytes", async function () {
      const error = await rejectionOf(store.put(Readable.from([randomBytes(600), randomBytes(600)]), { maxBytes: 1000 }));
      expect(error).to.be.instanceOf(ArtifactTooLargeError);
      expect((error as ArtifactTooLargeError).declared).to.equal(false);
      await expectStoreHolds(store, []);
    });

    it("leaves no partial file when the stream hashes to something else", async function () {
      const expectedHash = sha(Buffer.from("wanted"));
      const error = await rejectionOf(store.put(Readable.from([Buffer.from("unwanted")]), { expectedHash }));
      expect(error).to.be.instanceOf(ArtifactHashMismatchError);
      await expectStoreHolds(store, []);
    });

    it("leaves no partial file when the source stream fails midway", async function () {
      async function* broken(): AsyncGenerator<Uint8Array> {
        yield randomBytes(5000);
        throw new Error("source broke");
      }
      const error = await rejectionOf(store.put(broken()));
      expect((error as Error).message).to.equal("source broke");
      await expectStoreHolds(store, []);
    });
  });

  describe("when many writers put the same content at once", function () {
    it("all succeed and exactly one complete file remains", async function () {
      const bytes = randomBytes(200_000);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          i % 2 === 0 ? store.put(Readable.from([bytes.subarray(0, 50_000), bytes.subarray(50_000)])) : store.put(Readable.from([bytes])),
        ),
      );
      expect(new Set(results)).to.deep.equal(new Set([sha(bytes)]));
      expect(await store.get(sha(bytes))).to.deep.equal(bytes);
      await expectStoreHolds(store, [sha(bytes)]);
    });
  });

  describe("when an address is malformed or unknown", function () {
    const bad = ["", "abc", "A".repeat(64), "g".repeat(64), "0".repeat(63), "0".repeat(65), "../" + "0".repeat(61), "0x" + "0".repeat(62)];
    for (const value of bad) {
      it(`rejects ${JSON.stringify(value)} with InvalidArtifactHashError`, async function () {
        expect(() => store.path(value)).to.throw(InvalidArtifactHashError);
        expect(await rejectionOf(store.has(value))).to.be.instanceOf(InvalidArtifactHashError);
        expect(await rejectionOf(store.get(value))).to.be.instanceOf(InvalidArtifactHashError);
      });
    }

    it("answers ArtifactNotFoundError for a well-formed unknown hash", async function () {
      const hash = sha(Buffer.from("never stored"));
      expect(await store.has(hash)).to.equal(false);
      const error = await rejectionOf(store.get(hash));
      expect(error).to.be.instanceOf(ArtifactNotFoundError);
      expect((error as ArtifactNotFoundError).hash).to.equal(hash);
      expect(await rejectionOf(store.size(hash))).to.be.instanceOf(ArtifactNotFoundError);
      expect(await rejectionOf(store.verify(hash))).to.be.instanceOf(ArtifactNotFoundError);
    });

    it("rejects a bad root and bad writer options", async function () {
      expect(() => new LocalStore("")).to.throw(InvalidStoreOptionError);
      expect(await rejectionOf(store.createWriter({ maxBytes: -1 }))).to.be.instanceOf(InvalidStoreOptionError);
      expect(await rejectionOf(store.createWriter({ expectedHash: "nope" }))).to.be.instanceOf(InvalidArtifactHashError);
    });
  });

  describe("when a stored file is damaged on disk", function () {
    it("verify() reports it", async function () {
      const hash = await store.put(Buffer.from("pristine"));
      expect(await store.verify(hash)).to.equal(true);
      await writeFile(store.path(hash), "damaged!");
      expect(await store.verify(hash)).to.equal(false);
    });
  });

  describe("when a writer is aborted", function () {
    it("removes its temp file and a second abort is harmless", async function () {
      const writer = await store.createWriter();
      await writer.write(randomBytes(100));
      expect((await stat(writer.tempPath)).size).to.equal(100);
      await writer.abort();
      await writer.abort();
      await expectStoreHolds(store, []);
    });
  });

  describe("toArtifactHash", function () {
    it("canonicalises a 0x-prefixed or upper-case hash and rejects the rest", function () {
      const hash = sha(Buffer.from("x"));
      expect(toArtifactHash("0x" + hash.toUpperCase())).to.equal(hash);
      expect(toArtifactHash(hash)).to.equal(hash);
      expect(() => toArtifactHash("0x1234")).to.throw(InvalidArtifactHashError);
    });
  });
});
