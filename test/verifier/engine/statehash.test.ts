import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { chunkLeaf, fileHash, merkleRoot } from "../../../verifier/protocol/hashing";
import { HashPool, HashPoolClosedError } from "../../../verifier/engine/hashpool";
import {
  ChunkIndexError,
  chunkProof,
  EmptyFileError,
  fileCommitmentSync,
  fileHashOf,
  fileHashOfOwned,
  fileHashOfPath,
  fileHashOfSync,
  verifyChunkProof,
} from "../../../verifier/engine/statehash";
import { writeSafetensors } from "../../../verifier/engine/safetensors";

const CHUNK = 8192;
/** docs/encoding.md's test vector (also computed with Python's hashlib): byte i = i mod 251, 16,385 bytes. */
const ENCODING_VECTOR = {
  chunkRoot: "0x82c473bf20c0bfdd2b050a7b9494ca07eb6701d0d1a86ff5d4762104dc762cf7",
  fileHash: "0x85dc4c376dc3f7744e9257d0998f09a99c9364baefa2282078bb7ccb71b2f6b6",
};

/** Deterministic pseudo-random bytes (xorshift32 seeded from the label). */
function bytes(len: number, seed: string): Buffer {
  let x = createHash("sha256").update(seed).digest().readUInt32LE(0) | 1;
  const words = new Uint32Array(Math.ceil(len / 4));
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, len);
}

async function expectRejects(p: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(type);
    return;
  }
  expect.fail(`expected a ${type.name}`);
}

/** The definition, composed from the hashing primitives (one chunk at a time). */
function referenceFileHash(data: Buffer): string {
  const leaves: string[] = [];
  for (let off = 0; off < data.length; off += CHUNK) leaves.push(chunkLeaf(data.subarray(off, off + CHUNK)));
  return fileHash(data.length, merkleRoot(leaves));
}

describe("engine/statehash", function () {
  let pool: HashPool;
  let dir: string;
  before(async function () {
    pool = new HashPool({ size: 2 });
    dir = await mkdtemp(path.join(tmpdir(), "upow-statehash-"));
  });
  after(async function () {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sizes = [1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 7, (1 << 20) + 5, 3 * (1 << 20) + 123];

  it("single-threaded hash follows the definition", function () {
    for (const len of sizes) {
      const data = bytes(len, `d${len}`);
      expect(fileHashOfSync(data), `len ${len}`).to.equal(referenceFileHash(data));
    }
  });

  it("the worker pool gives the same hash as the calling thread, for every split", async function () {
    const single = new HashPool({ size: 1 });
    for (const len of sizes) {
      const data = bytes(len, `p${len}`);
      const expected = fileHashOfSync(data);
      expect(await fileHashOf(data, { pool, minParallelBytes: 0 }), `len ${len}`).to.equal(expected);
      expect(await fileHashOf(data, { pool: single, minParallelBytes: 0 })).to.equal(expected);
      // a view into a larger buffer, and a SharedArrayBuffer
      const big = Buffer.alloc(len + 11);
      data.copy(big, 11);
      expect(await fileHashOf(big.subarray(11), { pool, minParallelBytes: 0 })).to.equal(expected);
      const sab = new Uint8Array(new SharedArrayBuffer(len));
      sab.set(data);
      expect(await fileHashOf(sab, { pool, minParallelBytes: 0 })).to.equal(expected);
    }
    await single.close();
  });

  it("lends a buffer to a worker and gets it back with the same hash and its plain sha256", async function () {
    for (const len of sizes) {
      const data = bytes(len, `o${len}`);
      const owned = new Uint8Array(new ArrayBuffer(len));
      owned.set(data);
      const r = await fileHashOfOwned(owned, { pool, sha256: true });
      expect(r.fileHash, `len ${len}`).to.equal(fileHashOfSync(data));
      expect(r.sha256).to.equal(createHash("sha256").update(data).digest("hex"));
      expect(owned.byteLength, "the lent view is detached").to.equal(0);
      expect(Buffer.from(r.bytes).equals(data)).to.equal(true);
      expect((await fileHashOfOwned(r.bytes, { pool })).sha256).to.equal(null);
    }
    // A view into a larger buffer cannot be lent (the worker would get, and the caller lose, the rest).
    let err: unknown;
    try {
      await fileHashOfOwned(Buffer.alloc(CHUNK + 11).subarray(11), { pool });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.match(/ArrayBuffer of their own/);
  });

  it("streams files from disk to the same hash", async function () {
    for (const len of [1, CHUNK + 1, 512 * CHUNK, 512 * CHUNK + 1, 1200 * CHUNK + 99]) {
      const data = bytes(len, `f${len}`);
      const p = path.join(dir, `f${len}.bin`);
      await writeFile(p, data);
      expect(await fileHashOfPath(p, { pool, minParallelBytes: 0 }), `len ${len}`).to.equal(fileHashOfSync(data));
      expect(await fileHashOfPath(p, { pool })).to.equal(fileHashOfSync(data));
    }
  });

  it("a single changed byte changes the hash; same tensors give the same state hash", async function () {
    const data = bytes(2 * CHUNK + 3, "flip");
    const before = fileHashOfSync(data);
    data[CHUNK + 17]! ^= 1;
    expect(fileHashOfSync(data)).to.not.equal(before);
    const a = writeSafetensors({ w: { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) } });
    const b = writeSafetensors(new Map([["w", { dtype: "F32" as const, shape: [3], data: new Float32Array([1, 2, 3]) }]]));
    expect(await fileHashOf(a, { pool })).to.equal(fileHashOfSync(b));
  });

  it("binds the length: a zero-padded file hashes differently", function () {
    const data = bytes(100, "len");
    expect(fileHashOfSync(data)).to.not.equal(fileHashOfSync(Buffer.concat([data, Buffer.alloc(1)])));
  });

  it("refuses empty input", async function () {
    expect(() => fileHashOfSync(Buffer.alloc(0))).to.throw(EmptyFileError);
    await expectRejects(fileHashOf(Buffer.alloc(0), { pool }), EmptyFileError);
    const p = path.join(dir, "empty.bin");
    await writeFile(p, Buffer.alloc(0));
    await expectRejects(fileHashOfPath(p, { pool }), EmptyFileError);
  });

  it("a closed pool refuses work with a typed error", async function () {
    const p = new HashPool({ size: 1 });
    await p.close();
    await expectRejects(fileHashOf(bytes(10, "x"), { pool: p, minParallelBytes: 0 }), HashPoolClosedError);
  });

  describe("chunk proofs", function () {
    async function deployHarness() {
      return { harness: await ethers.deployContract("UPowHashingHarness") };
    }

    it("every chunk proves against the file hash, off chain and on chain", async function () {
      const { harness } = await loadFixture(deployHarness);
      const data = bytes(5 * CHUNK + 7, "proof");
      const c = fileCommitmentSync(data);
      for (let i = 0; i < 6; i++) {
        const p = chunkProof(data, i, c);
        expect(p.chunk.length).to.equal(i === 5 ? 7 : CHUNK);
        expect(verifyChunkProof(c.fileHash, p)).to.equal(true);
        const n = await harness.chunkCount(p.byteLength);
        expect(await harness.verify(p.chunkRoot, n, i, await harness.chunkLeaf(p.chunk), p.proof)).to.equal(true);
        expect(await harness.fileHash(p.byteLength, p.chunkRoot)).to.equal(c.fileHash);
      }
    });

    it("gives the docs/encoding.md vector on both sides: 16,385 bytes are chunks of 8,192, 8,192 and 1 bytes", async function () {
      // Pins the chunk size itself: a side still on 32 KiB chunks would see one chunk and another hash.
      const { harness } = await loadFixture(deployHarness);
      const data = Buffer.alloc(16_385);
      for (let i = 0; i < data.length; i++) data[i] = i % 251;
      expect(fileHashOfSync(data)).to.equal(ENCODING_VECTOR.fileHash);
      expect(await fileHashOf(data, { pool, minParallelBytes: 0 })).to.equal(ENCODING_VECTOR.fileHash);
      expect(await harness.chunkCount(data.length)).to.equal(3n);
      const chunks = [data.subarray(0, 8_192), data.subarray(8_192, 16_384), data.subarray(16_384)];
      const leaves = await Promise.all(chunks.map((c) => harness.chunkLeaf(c)));
      expect(merkleRoot(leaves)).to.equal(ENCODING_VECTOR.chunkRoot);
      expect(await harness.fileHash(data.length, ENCODING_VECTOR.chunkRoot)).to.equal(ENCODING_VECTOR.fileHash);
      for (let i = 0; i < 3; i++) {
        const p = chunkProof(data, i);
        expect(p.chunk.equals(chunks[i]!)).to.equal(true);
        expect(await harness.verify(ENCODING_VECTOR.chunkRoot, 3, i, leaves[i]!, p.proof)).to.equal(true);
      }
    });

    it("rejects a tampered chunk, a wrong index, a wrong length or a wrong file", function () {
      const data = bytes(3 * CHUNK + 100, "bad");
      const h = fileHashOfSync(data);
      const p = chunkProof(data, 1);
      const tampered = Buffer.from(p.chunk);
      tampered[0]! ^= 1;
      expect(verifyChunkProof(h, { ...p, chunk: tampered })).to.equal(false);
      expect(verifyChunkProof(h, { ...p, index: 2 })).to.equal(false);
      expect(verifyChunkProof(h, { ...p, index: 4 })).to.equal(false);
      expect(verifyChunkProof(h, { ...p, byteLength: p.byteLength + 1 })).to.equal(false);
      expect(verifyChunkProof(h, { ...p, chunk: p.chunk.subarray(1) })).to.equal(false);
      expect(verifyChunkProof(h, { ...p, proof: p.proof.slice(1) })).to.equal(false);
      expect(verifyChunkProof(fileHashOfSync(bytes(10, "other")), p)).to.equal(false);
      const last = chunkProof(data, 3);
      expect(verifyChunkProof(h, last)).to.equal(true);
      expect(verifyChunkProof(h, { ...last, chunk: Buffer.concat([last.chunk, Buffer.alloc(1)]) })).to.equal(false);
    });

    it("refuses an index outside the file", function () {
      expect(() => chunkProof(bytes(CHUNK, "i"), 1)).to.throw(ChunkIndexError);
      expect(() => chunkProof(bytes(CHUNK, "i"), -1)).to.throw(ChunkIndexError);
    });
  });
});
