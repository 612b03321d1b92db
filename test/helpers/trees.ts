/**
 * Files, chunk proofs and whole trajectories built from real bytes (docs/encoding.md), so dispute
 * tests can answer chunk challenges with the very chunks the commitments cover.
 * Tree primitives come from ./merkle (node:crypto sha256, positional trees).
 */
import {
  buildTrajectory,
  checkpointLeaf,
  chunkLeaf,
  fileHash,
  proof,
  root,
  stepLeaf,
  batchLeaf,
  type Hex,
  type Trajectory,
  MerkleInputError,
} from "./merkle";

export const CHUNK_SIZE = 8192;

/** A content-addressed file: its chunks, chunk leaves and file hash. */
export interface FileTree {
  bytes: Buffer;
  chunks: Buffer[];
  leaves: Hex[];
  chunkRoot: Hex;
  hash: Hex;
}

export function fileTree(bytes: Buffer): FileTree {
  if (bytes.length < 1) throw new MerkleInputError("a file has at least one byte");
  const chunks: Buffer[] = [];
  for (let o = 0; o < bytes.length; o += CHUNK_SIZE) chunks.push(bytes.subarray(o, o + CHUNK_SIZE));
  const leaves = chunks.map((c) => chunkLeaf(c));
  const chunkRoot = root(leaves);
  return { bytes, chunks, leaves, chunkRoot, hash: fileHash(bytes.length, chunkRoot) };
}

/** Chunk `index` of `file` with its proof against the file's chunk root. */
export function chunkProof(file: FileTree, index: number): { chunk: Buffer; proof: Hex[] } {
  return { chunk: file.chunks[index], proof: proof(file.leaves, index) };
}

/** Deterministic pseudo-random bytes (a stand-in for a state or batch file). */
export function fakeFile(tag: string, length: number): FileTree {
  const b = Buffer.alloc(length);
  let x = 2166136261;
  for (const ch of tag) x = Math.imul(x ^ ch.charCodeAt(0), 16777619) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return fileTree(b);
}

/** A trajectory whose per-step states are real files. */
export interface FileTrajectory extends Trajectory {
  states: FileTree[];
  k: number;
}

export function fileTrajectory(states: FileTree[], k: number): FileTrajectory {
  return {
    ...buildTrajectory(
      states.map((s) => s.hash),
      k,
    ),
    states,
    k,
  };
}

/** Checkpoint leaf `i` as the contract's CheckpointProof struct. */
export function checkpointProof(traj: Trajectory, i: number): { stateHash: Hex; stepRoot: Hex; proof: Hex[] } {
  return { stateHash: traj.stateHashes[i * kOf(traj)], stepRoot: traj.stepRoots[i], proof: proof(traj.checkpointLeaves, i) };
}

/** Step leaf `j` (0..k) of interval `i`: the state hash after global step i·k+j and its proof. */
export function stepProof(traj: Trajectory, i: number, j: number): { stateHash: Hex; proof: Hex[] } {
  const k = kOf(traj);
  const leaves: Hex[] = [];
  for (let t = 0; t <= k; t++) leaves.push(stepLeaf(i * k + t, traj.stateHashes[i * k + t]));
  return { stateHash: traj.stateHashes[i * k + j], proof: proof(leaves, j) };
}

/** A data tree over batch files. */
export interface DataTree {
  batches: FileTree[];
  leaves: Hex[];
  root: Hex;
}

export function dataTree(batches: FileTree[]): DataTree {
  const leaves = batches.map((b, i) => batchLeaf(i, b.hash));
  return { batches, leaves, root: root(leaves) };
}

function kOf(traj: Trajectory): number {
  const n = traj.checkpointLeaves.length;
  return (traj.stateHashes.length - 1) / (n - 1);
}

/**
 * A worker whose step tree of one interval disagrees with its own checkpoints: checkpoint leaves
 * commit `stateHashes` (every leaf, including `interval`'s, as an honest worker would), but
 * stepRoot_interval is built over `stepHashes` (its k+1 leaves) instead of the honest states.
 */
export interface SplitTrajectory extends Trajectory {
  interval: number;
  stepHashes: Hex[];
}

export function splitTrajectory(stateHashes: readonly Hex[], k: number, interval: number, stepHashes: readonly Hex[]): SplitTrajectory {
  if (stepHashes.length !== k + 1)
    throw new MerkleInputError("an interval's step tree has k+1 leaves", { details: { k, got: stepHashes.length } });
  const honest = buildTrajectory(stateHashes, k);
  if (interval < 0 || interval >= honest.stepRoots.length - 1) throw new MerkleInputError("no such interval", { details: { interval } });
  const stepRoots = [...honest.stepRoots];
  stepRoots[interval] = root(stepHashes.map((h, j) => stepLeaf(interval * k + j, h)));
  const checkpointLeaves = stepRoots.map((r, i) => checkpointLeaf(i, stateHashes[i * k], r));
  return {
    stateHashes: [...stateHashes],
    stepRoots,
    checkpointLeaves,
    checkpointRoot: root(checkpointLeaves),
    interval,
    stepHashes: [...stepHashes],
  };
}

/** Step leaf `j` of the split interval, as the worker's (inconsistent) step tree has it. */
export function splitStepProof(traj: SplitTrajectory, j: number): { stateHash: Hex; proof: Hex[] } {
  const k = traj.stepHashes.length - 1;
  const leaves = traj.stepHashes.map((h, t) => stepLeaf(traj.interval * k + t, h));
  return { stateHash: traj.stepHashes[j], proof: proof(leaves, j) };
}
