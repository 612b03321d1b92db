/**
 * File hashes of state and batch files (docs/encoding.md): the positional tree over 8 KiB chunk
 * leaves, bound to the byte length. Large inputs are hashed in a worker-thread pool; small ones in
 * the calling thread. Both paths give identical results. Also chunk proofs for chunk challenges.
 */
import { open } from "node:fs/promises";
import { UPowError } from "../errors";
import {
  CHUNK_SIZE,
  chunkCount,
  chunkLeafBuffer,
  fileHashBuffer,
  fromHex,
  PositionalTree,
  toHex,
  verifyProofBuffers,
  type Hash,
} from "../protocol/hashing";
import { sharedHashPool, type HashPool } from "./hashpool";

/** A file hash needs at least one byte (`byteLength ≥ 1`). */
export class EmptyFileError extends UPowError {
  override readonly name = "EmptyFileError";
  constructor(what = "file") {
    super(`${what} is empty; a file hash needs at least one byte`);
  }
}

/** A chunk index outside the file. */
export class ChunkIndexError extends UPowError {
  override readonly name = "ChunkIndexError";
  constructor(index: number, chunks: number) {
    super(`chunk index ${index} is outside a file of ${chunks} chunks`, { details: { index, chunks } });
  }
}

export interface FileCommitment {
  readonly fileHash: Hash;
  readonly chunkRoot: Hash;
  readonly byteLength: number;
  /** Tree over the chunk leaves (kept to answer chunk challenges without rehashing). */
  readonly tree: PositionalTree;
}

export interface ChunkProof {
  readonly index: number;
  readonly byteLength: number;
  /** The chunk's bytes (CHUNK_SIZE, or fewer for the last chunk). */
  readonly chunk: Buffer;
  readonly chunkRoot: Hash;
  /** Siblings from the chunk level upwards (`depth(chunkCount(byteLength))` of them). */
  readonly proof: Hash[];
}

export interface FileHashOptions {
  /** Pool to use for large inputs. @default sharedHashPool() */
  readonly pool?: HashPool;
  /** Inputs shorter than this are hashed in the calling thread. @default 1 MiB */
  readonly minParallelBytes?: number;
}

const DEFAULT_MIN_PARALLEL = 1 << 20;
/** Bytes per pool task when streaming from disk: 4 MiB, a whole number of chunks. */
const STREAM_BLOCK = 512 * CHUNK_SIZE;

function commitmentFromLeaves(leaves: Buffer[], byteLength: number): FileCommitment {
  const tree = new PositionalTree(leaves);
  return { fileHash: toHex(fileHashBuffer(byteLength, tree.rootBuffer)), chunkRoot: tree.root, byteLength, tree };
}

function splitLeaves(packed: Buffer): Buffer[] {
  const out: Buffer[] = new Array<Buffer>(packed.length / 32);
  for (let i = 0; i < out.length; i++) out[i] = packed.subarray(i * 32, i * 32 + 32);
  return out;
}

/** Chunk leaves computed in the calling thread. */
function chunkLeavesSync(data: Uint8Array): Buffer[] {
  const n = chunkCount(data.byteLength);
  const leaves: Buffer[] = new Array<Buffer>(n);
  for (let i = 0; i < n; i++) leaves[i] = chunkLeafBuffer(data.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE));
  return leaves;
}

/** The file commitment of in-memory bytes, in the calling thread. */
export function fileCommitmentSync(data: Uint8Array): FileCommitment {
  if (data.byteLength === 0) throw new EmptyFileError();
  return commitmentFromLeaves(chunkLeavesSync(data), data.byteLength);
}

export function fileHashOfSync(data: Uint8Array): Hash {
  return fileCommitmentSync(data).fileHash;
}

/** Chunk leaves of in-memory bytes, split across the pool for large inputs. */
async function chunkLeaves(data: Uint8Array, options: FileHashOptions = {}): Promise<Buffer[]> {
  const minParallel = options.minParallelBytes ?? DEFAULT_MIN_PARALLEL;
  if (data.byteLength < minParallel) return chunkLeavesSync(data);
  const pool = options.pool ?? sharedHashPool();
  const chunks = chunkCount(data.byteLength);
  const perTask = Math.ceil(chunks / pool.size) * CHUNK_SIZE;
  const isShared = typeof SharedArrayBuffer !== "undefined" && data.buffer instanceof SharedArrayBuffer;
  const parts: Promise<Buffer>[] = [];
  for (let off = 0; off < data.byteLength; off += perTask) {
    const len = Math.min(perTask, data.byteLength - off);
    if (isShared) {
      parts.push(pool.leaves(data.buffer, data.byteOffset + off, len));
    } else {
      // One copy per slice, moved (not cloned) to the worker: posting a view would clone its whole buffer.
      const copy = new ArrayBuffer(len);
      new Uint8Array(copy).set(data.subarray(off, off + len));
      parts.push(pool.leaves(copy, 0, len, true));
    }
  }
  return splitLeaves(Buffer.concat(await Promise.all(parts)));
}

/** The file commitment of in-memory bytes (parallel for large inputs). */
async function fileCommitment(data: Uint8Array, options: FileHashOptions = {}): Promise<FileCommitment> {
  if (data.byteLength === 0) throw new EmptyFileError();
  return commitmentFromLeaves(await chunkLeaves(data, options), data.byteLength);
}

export async function fileHashOf(data: Uint8Array, options: FileHashOptions = {}): Promise<Hash> {
  return (await fileCommitment(data, options)).fileHash;
}

export interface OwnedFileHash {
  readonly fileHash: Hash;
  /** The same bytes, back from the worker. */
  readonly bytes: Uint8Array;
  /** Plain sha256 (hex, no 0x) when asked for. */
  readonly sha256: string | null;
}

/**
 * fileHash of bytes that fill an ArrayBuffer of their own, computed in one pool worker: the buffer is
 * moved there and back, so the calling thread neither copies nor hashes. `data` is unusable until this
 * resolves; use the returned `bytes`. With `sha256`, the worker also computes the plain sha256.
 */
export async function fileHashOfOwned(
  data: Uint8Array,
  options: { readonly pool?: HashPool; readonly sha256?: boolean } = {},
): Promise<OwnedFileHash> {
  if (data.byteLength === 0) throw new EmptyFileError();
  if (!(data.buffer instanceof ArrayBuffer) || data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) {
    throw new UPowError("bytes to lend to a hashing worker must fill an ArrayBuffer of their own", {
      details: { byteOffset: data.byteOffset, byteLength: data.byteLength, bufferLength: data.buffer.byteLength },
    });
  }
  const r = await (options.pool ?? sharedHashPool()).lend(data.buffer, options.sha256 === true);
  const bytes = new Uint8Array(r.buffer);
  return {
    fileHash: commitmentFromLeaves(splitLeaves(r.leaves), bytes.byteLength).fileHash,
    bytes,
    sha256: r.sha256 ? r.sha256.toString("hex") : null,
  };
}

/**
 * The file commitment of a file on disk, read block by block (a few MiB each) and hashed in the pool,
 * with a bounded number of blocks in flight.
 */
async function fileCommitmentOfPath(path: string, options: FileHashOptions = {}): Promise<FileCommitment> {
  const pool = options.pool ?? sharedHashPool();
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    if (size === 0) throw new EmptyFileError(path);
    if (size < (options.minParallelBytes ?? DEFAULT_MIN_PARALLEL)) {
      const buf = Buffer.alloc(size);
      await readFully(fh, buf, 0, size, path);
      return fileCommitmentSync(buf);
    }
    const maxInFlight = pool.size * 2;
    const parts: Promise<Buffer>[] = [];
    const inFlight = new Set<Promise<Buffer>>();
    for (let off = 0; off < size; off += STREAM_BLOCK) {
      const len = Math.min(STREAM_BLOCK, size - off);
      const block = new ArrayBuffer(len);
      await readFully(fh, new Uint8Array(block), off, len, path);
      const p = pool.leaves(block, 0, len, true);
      parts.push(p);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p)).catch(() => undefined);
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
    return commitmentFromLeaves(splitLeaves(Buffer.concat(await Promise.all(parts))), size);
  } finally {
    await fh.close();
  }
}

export async function fileHashOfPath(path: string, options: FileHashOptions = {}): Promise<Hash> {
  return (await fileCommitmentOfPath(path, options)).fileHash;
}

async function readFully(
  fh: Awaited<ReturnType<typeof open>>,
  into: Uint8Array,
  position: number,
  length: number,
  path: string,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(into, done, length - done, position + done);
    if (bytesRead === 0) throw new UPowError("file shrank while it was being hashed", { details: { path } });
    done += bytesRead;
  }
}

/** Proof of chunk `index` against the file's chunk root (reuse `commitment` to avoid rehashing). */
export function chunkProof(data: Uint8Array, index: number, commitment?: FileCommitment): ChunkProof {
  const c = commitment ?? fileCommitmentSync(data);
  const chunks = c.tree.n;
  if (!Number.isSafeInteger(index) || index < 0 || index >= chunks) throw new ChunkIndexError(index, chunks);
  const chunk = Buffer.from(data.subarray(index * CHUNK_SIZE, Math.min((index + 1) * CHUNK_SIZE, data.byteLength)));
  return { index, byteLength: c.byteLength, chunk, chunkRoot: c.chunkRoot, proof: c.tree.proof(index) };
}

/**
 * What a chunk-challenge answer must satisfy: the chunk has the size its index implies, its leaf proves
 * into `chunkRoot` at `index` of `chunkCount(byteLength)` leaves, and `fileHash(byteLength, chunkRoot)`
 * equals the committed hash.
 */
export function verifyChunkProof(expectedFileHash: Hash, p: ChunkProof): boolean {
  if (!Number.isSafeInteger(p.byteLength) || p.byteLength < 1) return false;
  const n = chunkCount(p.byteLength);
  if (!Number.isSafeInteger(p.index) || p.index < 0 || p.index >= n) return false;
  const expectedLen = p.index === n - 1 ? p.byteLength - (n - 1) * CHUNK_SIZE : CHUNK_SIZE;
  if (p.chunk.length !== expectedLen) return false;
  const root = fromHex(p.chunkRoot, "chunkRoot");
  if (!fileHashBuffer(p.byteLength, root).equals(fromHex(expectedFileHash, "fileHash"))) return false;
  return verifyProofBuffers(
    root,
    n,
    p.index,
    chunkLeafBuffer(p.chunk),
    p.proof.map((s, l) => fromHex(s, `proof[${l}]`)),
  );
}
