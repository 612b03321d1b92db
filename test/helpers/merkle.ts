/**
 * Positional sha256 trees and the domain-tagged leaves of docs/encoding.md, for tests.
 * Twin of contracts/lib/UPowHashing.sol (checked against it in test/contracts/UPowHashing.test.ts).
 */
import { createHash } from "node:crypto";
import { UPowError } from "../../verifier/errors";

export type Hex = `0x${string}`;

export const ZERO_HASH: Hex = `0x${"00".repeat(32)}`;

export class MerkleInputError extends UPowError {
  override readonly name = "MerkleInputError";
}

function toBytes(hex: string, what: string): Buffer {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new MerkleInputError(`${what} is not a 32-byte hex string`, { details: { hex } });
  return Buffer.from(hex.slice(2), "hex");
}

function u64(value: bigint | number, what: string): Buffer {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << 64n) throw new MerkleInputError(`${what} does not fit uint64`, { details: { value: v } });
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

export function sha256(...parts: Buffer[]): Hex {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return `0x${h.digest("hex")}`;
}

/** ceil(log2(n)); depth(1) = 0. */
export function depth(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new MerkleInputError("leaf count must be a positive integer", { details: { n } });
  let d = 0;
  while (2 ** d < n) d++;
  return d;
}

/** All levels, leaves first, padded with zero hashes to a power of two. */
export function levels(leaves: readonly Hex[]): Hex[][] {
  const d = depth(leaves.length);
  let level: Hex[] = [...leaves];
  while (level.length < 2 ** d) level.push(ZERO_HASH);
  const out: Hex[][] = [level];
  while (level.length > 1) {
    const next: Hex[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256(toBytes(level[i], "node"), toBytes(level[i + 1], "node")));
    out.push(next);
    level = next;
  }
  return out;
}

export function root(leaves: readonly Hex[]): Hex {
  const ls = levels(leaves);
  return ls[ls.length - 1][0];
}

/** Siblings from the leaf level upwards for leaf `index`. */
export function proof(leaves: readonly Hex[], index: number): Hex[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new MerkleInputError("leaf index out of range", { details: { index, n: leaves.length } });
  }
  const ls = levels(leaves);
  const out: Hex[] = [];
  let i = index;
  for (let l = 0; l < ls.length - 1; l++) {
    out.push(ls[l][i ^ 1]);
    i >>= 1;
  }
  return out;
}

/**
 * Range proof of the contiguous leaves `first .. first+count-1` (UPowHashing.rangeRoot): at each
 * level from the leaves up, the left sibling of the lowest node if it is a right child, then the
 * right sibling of the highest node if it is a left child.
 */
export function rangeProof(leaves: readonly Hex[], first: number, count: number): Hex[] {
  if (!Number.isInteger(first) || !Number.isInteger(count) || count < 1 || first < 0 || first + count > leaves.length) {
    throw new MerkleInputError("range out of bounds", { details: { first, count, n: leaves.length } });
  }
  const ls = levels(leaves);
  const out: Hex[] = [];
  let lo = first;
  let hi = first + count - 1;
  for (let l = 0; l < ls.length - 1; l++) {
    if (lo % 2 === 1) out.push(ls[l][lo - 1]);
    if (hi % 2 === 0) out.push(ls[l][hi + 1]);
    lo >>= 1;
    hi >>= 1;
  }
  return out;
}

export function chunkLeaf(chunk: Uint8Array): Hex {
  return sha256(Buffer.from("upow.chunk"), Buffer.from(chunk));
}

export function stepLeaf(globalStep: bigint | number, stateHash: Hex): Hex {
  return sha256(Buffer.from("upow.step"), u64(globalStep, "globalStep"), toBytes(stateHash, "stateHash"));
}

export function checkpointLeaf(index: bigint | number, stateHash: Hex, stepRoot: Hex): Hex {
  return sha256(Buffer.from("upow.ckpt"), u64(index, "index"), toBytes(stateHash, "stateHash"), toBytes(stepRoot, "stepRoot"));
}

export function batchLeaf(batchIndex: bigint | number, batchHash: Hex): Hex {
  return sha256(Buffer.from("upow.batch"), u64(batchIndex, "batchIndex"), toBytes(batchHash, "batchHash"));
}

export function fileHash(byteLength: bigint | number, chunkRoot: Hex): Hex {
  return sha256(Buffer.from("upow.file"), u64(byteLength, "byteLength"), toBytes(chunkRoot, "chunkRoot"));
}

/** A whole trajectory commitment: per-step state hashes → step roots → checkpoint tree. */
export interface Trajectory {
  /** stateHashes[t] = hash of the state after global step t (t = 0..T). */
  stateHashes: Hex[];
  stepRoots: Hex[];
  checkpointLeaves: Hex[];
  checkpointRoot: Hex;
}

export function buildTrajectory(stateHashes: readonly Hex[], k: number): Trajectory {
  const T = stateHashes.length - 1;
  if (T < 1 || !Number.isInteger(k) || k < 1 || T % k !== 0) {
    throw new MerkleInputError("need T ≥ 1 steps and k dividing T", { details: { T, k } });
  }
  const n = T / k + 1;
  const stepRoots: Hex[] = [];
  const checkpointLeaves: Hex[] = [];
  for (let i = 0; i < n; i++) {
    let stepRoot = ZERO_HASH;
    if (i < n - 1) {
      const leaves: Hex[] = [];
      for (let j = 0; j <= k; j++) leaves.push(stepLeaf(i * k + j, stateHashes[i * k + j]));
      stepRoot = root(leaves);
    }
    stepRoots.push(stepRoot);
    checkpointLeaves.push(checkpointLeaf(i, stateHashes[i * k], stepRoot));
  }
  return { stateHashes: [...stateHashes], stepRoots, checkpointLeaves, checkpointRoot: root(checkpointLeaves) };
}
