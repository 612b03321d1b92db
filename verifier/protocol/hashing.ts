/**
 * Positional sha256 trees and domain-tagged leaves of docs/encoding.md: the TypeScript twin of
 * contracts/lib/UPowHashing.sol. Hashes cross the API as `0x`-prefixed hex (ethers' bytes32);
 * Buffers are used inside.
 */
import { createHash } from "node:crypto";
import { UPowError } from "./errors";

/** A 32-byte hash as `0x` + 64 lowercase hex digits (what ethers returns for `bytes32`). */
export type Hash = string;

/** Bytes per chunk (docs/encoding.md): 8 KiB keeps one on-chain chunk answer under 400k gas, since its
 * calldata pays the EIP-7623 floor of 40 gas per non-zero byte. */
export const CHUNK_SIZE = 8192;
export const ZERO_HASH: Hash = `0x${"00".repeat(32)}`;

const TAG_CHUNK = Buffer.from("upow.chunk", "ascii");
const TAG_STEP = Buffer.from("upow.step", "ascii");
const TAG_CKPT = Buffer.from("upow.ckpt", "ascii");
const TAG_BATCH = Buffer.from("upow.batch", "ascii");
const TAG_FILE = Buffer.from("upow.file", "ascii");
const UINT64_MAX = (1n << 64n) - 1n;
const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/** A value that should be a bytes32 hex string is not one. */
export class InvalidHashError extends UPowError {
  override readonly name = "InvalidHashError";
  constructor(what: string, value: unknown) {
    super(`${what} is not a 0x-prefixed 32-byte hex string`, { details: { what, value: String(value) } });
  }
}

/** An integer field does not fit the uint64 of the encoding. */
export class Uint64RangeError extends UPowError {
  override readonly name = "Uint64RangeError";
  constructor(what: string, value: bigint | number) {
    super(`${what} is not an integer in [0, 2^64)`, { details: { what, value: String(value) } });
  }
}

/** A tree was asked for with no leaves, or a proof for an index outside it. */
export class TreeIndexError extends UPowError {
  override readonly name = "TreeIndexError";
  constructor(index: number, n: number) {
    super(n === 0 ? "a tree needs at least one leaf" : `leaf index ${index} is outside a tree of ${n} leaves`, {
      details: { index, n },
    });
  }
}

export function sha256(...parts: readonly Uint8Array[]): Buffer {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
}

export function toHex(b: Uint8Array): Hash {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex")}`;
}

/** Parses a bytes32 hex string; throws InvalidHashError naming `what` otherwise. */
export function fromHex(h: Hash, what = "hash"): Buffer {
  if (typeof h !== "string" || !HEX32.test(h)) throw new InvalidHashError(what, h);
  return Buffer.from(h.slice(2), "hex");
}

/** uint64 big-endian, as `abi.encodePacked(uint64)` lays it out. */
export function uint64Bytes(v: bigint | number, what = "value"): Buffer {
  if (typeof v === "number" && !Number.isSafeInteger(v)) throw new Uint64RangeError(what, v);
  const big = BigInt(v);
  if (big < 0n || big > UINT64_MAX) throw new Uint64RangeError(what, v);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(big);
  return b;
}

/** ceil(log2(n)); depth(1) = 0. */
export function treeDepth(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new TreeIndexError(0, 0);
  let d = 0;
  let width = 1;
  while (width < n) {
    width *= 2;
    d++;
  }
  return d;
}

// zeroNodes[l] is the root of an all-padding subtree of height l (zeroNodes[0] = bytes32(0)).
const zeroNodes: Buffer[] = [Buffer.alloc(32)];
function zeroNode(level: number): Buffer {
  while (zeroNodes.length <= level) {
    const z = zeroNodes[zeroNodes.length - 1]!;
    zeroNodes.push(sha256(z, z));
  }
  return zeroNodes[level]!;
}

/**
 * A positional tree kept level by level so a proof costs O(depth). Padding is implicit: a missing
 * right sibling at level l is the all-zero subtree root of height l.
 */
export class PositionalTree {
  readonly n: number;
  readonly depth: number;
  private readonly levels: Buffer[][];

  constructor(leaves: readonly Buffer[]) {
    if (leaves.length === 0) throw new TreeIndexError(0, 0);
    this.n = leaves.length;
    this.depth = treeDepth(leaves.length);
    const levels: Buffer[][] = [leaves.slice()];
    for (let l = 0; l < this.depth; l++) {
      const cur = levels[l]!;
      const next: Buffer[] = new Array<Buffer>(Math.ceil(cur.length / 2));
      for (let i = 0; i < cur.length; i += 2) {
        next[i / 2] = sha256(cur[i]!, i + 1 < cur.length ? cur[i + 1]! : zeroNode(l));
      }
      levels.push(next);
    }
    this.levels = levels;
  }

  get rootBuffer(): Buffer {
    return this.levels[this.depth]![0]!;
  }

  get root(): Hash {
    return toHex(this.rootBuffer);
  }

  leafBuffer(index: number): Buffer {
    this.checkIndex(index);
    return this.levels[0]![index]!;
  }

  proofBuffers(index: number): Buffer[] {
    this.checkIndex(index);
    const proof: Buffer[] = [];
    let i = index;
    for (let l = 0; l < this.depth; l++) {
      const sib = i ^ 1;
      const level = this.levels[l]!;
      proof.push(sib < level.length ? level[sib]! : zeroNode(l));
      i >>= 1;
    }
    return proof;
  }

  /** The `depth` siblings of leaf `index`, from the leaf level upwards. */
  proof(index: number): Hash[] {
    return this.proofBuffers(index).map(toHex);
  }

  /**
   * Range proof of the contiguous leaves `first .. first+count-1` (UPowHashing.rangeRoot): at each
   * level from the leaves up, the left sibling of the lowest node if it is a right child, then the
   * right sibling of the highest node if it is a left child (padding as the all-zero subtree root).
   * A single leaf's range proof is its ordinary proof.
   */
  rangeProofBuffers(first: number, count: number): Buffer[] {
    if (!Number.isSafeInteger(count) || count < 1) throw new TreeIndexError(first, this.n);
    this.checkIndex(first);
    this.checkIndex(first + count - 1);
    const proof: Buffer[] = [];
    let lo = first;
    let hi = first + count - 1;
    for (let l = 0; l < this.depth; l++) {
      const level = this.levels[l]!;
      if ((lo & 1) === 1) proof.push(level[lo - 1]!);
      if ((hi & 1) === 0) proof.push(hi + 1 < level.length ? level[hi + 1]! : zeroNode(l));
      lo >>= 1;
      hi >>= 1;
    }
    return proof;
  }

  rangeProof(first: number, count: number): Hash[] {
    return this.rangeProofBuffers(first, count).map(toHex);
  }

  private checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.n) throw new TreeIndexError(index, this.n);
  }
}

/** Builds the tree over bytes32 hex leaves. */
export function merkleTree(leaves: readonly Hash[]): PositionalTree {
  return new PositionalTree(leaves.map((l, i) => fromHex(l, `leaf ${i}`)));
}

export function merkleRoot(leaves: readonly Hash[]): Hash {
  return merkleTree(leaves).root;
}

export function merkleProof(leaves: readonly Hash[], index: number): Hash[] {
  return merkleTree(leaves).proof(index);
}

/** Buffer-level verification (no hex parsing); same rules as `verifyProof`. */
export function verifyProofBuffers(root: Buffer, n: number, index: number, leaf: Buffer, proof: readonly Buffer[]): boolean {
  if (!Number.isSafeInteger(n) || n < 1 || !Number.isSafeInteger(index) || index < 0 || index >= n) return false;
  if (proof.length !== treeDepth(n)) return false;
  let node = leaf;
  let i = index;
  for (const sib of proof) {
    node = (i & 1) === 1 ? sha256(sib, node) : sha256(node, sib);
    i = Math.floor(i / 2);
  }
  return node.equals(root);
}

/**
 * UPowHashing.verify: false when `index >= n`, `proof.length != depth(n)` or the recomputed root differs.
 * Malformed hex throws InvalidHashError (a caller bug, not a failed proof).
 */
export function verifyProof(root: Hash, n: number, index: number, leaf: Hash, proof: readonly Hash[]): boolean {
  return verifyProofBuffers(
    fromHex(root, "root"),
    n,
    index,
    fromHex(leaf, "leaf"),
    proof.map((p, l) => fromHex(p, `proof[${l}]`)),
  );
}

/**
 * UPowHashing.rangeRoot: the root rebuilt from contiguous `leaves` starting at `first` in a tree of
 * `n` leaves and their range proof; null when the proof does not fit (wrong length, out of range).
 */
export function rangeRoot(n: number, first: number, leaves: readonly Hash[], proof: readonly Hash[]): Hash | null {
  if (leaves.length === 0 || !Number.isSafeInteger(n) || first < 0 || first + leaves.length > n) return null;
  let lo = first;
  let hi = first + leaves.length - 1;
  let used = 0;
  let nodes = leaves.map((l, i) => fromHex(l, `leaf ${i}`));
  const sibs = proof.map((p, i) => fromHex(p, `proof[${i}]`));
  for (let level = treeDepth(n); level > 0; level--) {
    const pLo = lo >> 1;
    const pHi = hi >> 1;
    const up: Buffer[] = [];
    for (let x = pLo; x <= pHi; x++) {
      let left: Buffer;
      let right: Buffer;
      if (2 * x < lo) {
        if (used === sibs.length) return null;
        left = sibs[used++]!;
      } else left = nodes[2 * x - lo]!;
      if (2 * x + 1 > hi) {
        if (used === sibs.length) return null;
        right = sibs[used++]!;
      } else right = nodes[2 * x + 1 - lo]!;
      up.push(sha256(left, right));
    }
    nodes = up;
    lo = pLo;
    hi = pHi;
  }
  return used === sibs.length ? toHex(nodes[0]!) : null;
}

/** UPowHashing.verifyRange. */
export function verifyRange(root: Hash, n: number, first: number, leaves: readonly Hash[], proof: readonly Hash[]): boolean {
  const r = rangeRoot(n, first, leaves, proof);
  return r !== null && r.toLowerCase() === root.toLowerCase();
}

// ---- tagged leaves -------------------------------------------------------------------------

export function chunkLeafBuffer(chunk: Uint8Array): Buffer {
  return sha256(TAG_CHUNK, chunk);
}

export function chunkLeaf(chunk: Uint8Array): Hash {
  return toHex(chunkLeafBuffer(chunk));
}

export function stepLeaf(globalStep: bigint | number, stateHash: Hash): Hash {
  return toHex(sha256(TAG_STEP, uint64Bytes(globalStep, "globalStep"), fromHex(stateHash, "stateHash")));
}

export function checkpointLeaf(i: bigint | number, stateHash: Hash, stepRoot: Hash): Hash {
  return toHex(sha256(TAG_CKPT, uint64Bytes(i, "checkpoint index"), fromHex(stateHash, "stateHash"), fromHex(stepRoot, "stepRoot")));
}

export function batchLeaf(i: bigint | number, batchHash: Hash): Hash {
  return toHex(sha256(TAG_BATCH, uint64Bytes(i, "batch index"), fromHex(batchHash, "batchHash")));
}

export function fileHashBuffer(byteLength: bigint | number, chunkRoot: Buffer): Buffer {
  return sha256(TAG_FILE, uint64Bytes(byteLength, "byteLength"), chunkRoot);
}

/** `sha256("upow.file" ‖ uint64 byteLength ‖ chunkRoot)`. See statehash.ts for hashing whole files. */
export function fileHash(byteLength: bigint | number, chunkRoot: Hash): Hash {
  return toHex(fileHashBuffer(byteLength, fromHex(chunkRoot, "chunkRoot")));
}

/** Number of 8 KiB chunks of a file of `byteLength` bytes. */
export function chunkCount(byteLength: number): number {
  return Math.ceil(byteLength / CHUNK_SIZE);
}

// ---- the trees of a job ----------------------------------------------------------------------

/** Tree over an interval's `k+1` step leaves; leaf j is the state after global step `firstGlobalStep + j`. */
export function stepTree(stateHashes: readonly Hash[], firstGlobalStep: bigint | number): PositionalTree {
  const first = BigInt(firstGlobalStep);
  return merkleTree(stateHashes.map((h, j) => stepLeaf(first + BigInt(j), h)));
}

/**
 * Range proof of step leaves `first .. first+count-1` of an interval (its `k+1` state hashes, the
 * first one after global step `firstGlobalStep`): what DataAvailability.proveStepLeaves and
 * answerStepLeaves take.
 */
export function stepRangeProof(stateHashes: readonly Hash[], firstGlobalStep: bigint | number, first: number, count: number): Hash[] {
  return stepTree(stateHashes, firstGlobalStep).rangeProof(first, count);
}

export function stepRoot(stateHashes: readonly Hash[], firstGlobalStep: bigint | number): Hash {
  return stepTree(stateHashes, firstGlobalStep).root;
}

export interface Checkpoint {
  readonly stateHash: Hash;
  /** Root of the interval that starts here; ZERO_HASH for the last checkpoint. */
  readonly stepRoot: Hash;
}

export interface CheckpointTree {
  readonly root: Hash;
  readonly n: number;
  readonly leaves: readonly Hash[];
  proof(i: number): Hash[];
}

/** Tree over `n = T/k + 1` checkpoint leaves. */
export function checkpointTree(checkpoints: readonly Checkpoint[]): CheckpointTree {
  const leaves = checkpoints.map((c, i) => checkpointLeaf(i, c.stateHash, c.stepRoot));
  const tree = merkleTree(leaves);
  return { root: tree.root, n: tree.n, leaves, proof: (i: number) => tree.proof(i) };
}

/** Tree over `numBatches` batch leaves, in batch index order. */
export function dataTree(batchHashes: readonly Hash[]): PositionalTree {
  return merkleTree(batchHashes.map((h, i) => batchLeaf(i, h)));
}
