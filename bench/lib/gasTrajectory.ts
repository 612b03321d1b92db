/**
 * A committed trajectory of T steps for the gas suite, with real positional trees of the real sizes
 * (docs/encoding.md): T+1 state hashes, T/k step trees of k+1 leaves, the checkpoint tree of T/k+1
 * leaves. State hashes are stand-ins (sha256 of the step number), except the disputed state, which is
 * the file hash of real bytes so a chunk challenge on it can be answered.
 */
import {
  CHUNK_SIZE,
  PositionalTree,
  ZERO_HASH,
  chunkLeafBuffer,
  fileHashBuffer,
  fromHex,
  sha256,
  toHex,
  uint64Bytes,
  type Hash,
} from "../../verifier/protocol/hashing";

const TAG_STEP = Buffer.from("upow.step", "ascii");
const TAG_CKPT = Buffer.from("upow.ckpt", "ascii");

export interface StateFile {
  readonly bytes: Buffer;
  readonly chunks: readonly Buffer[];
  chunkProof(index: number): Hash[];
  readonly hash: Buffer;
}

export interface GasTrajectory {
  readonly T: number;
  readonly k: number;
  readonly n: number;
  readonly checkpointRoot: Hash;
  readonly disputedInterval: number;
  readonly disputedLocalStep: number;
  readonly disputedFile: StateFile;
  stateHash(t: number): Hash;
  stepRoot(i: number): Hash;
  checkpointProof(i: number): Hash[];
  /** Proof of step leaf j of the disputed interval. */
  stepProof(i: number, j: number): Hash[];
}

function stateFile(length: number): StateFile {
  const bytes = Buffer.alloc(length);
  let x = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  const chunks: Buffer[] = [];
  for (let o = 0; o < length; o += CHUNK_SIZE) chunks.push(bytes.subarray(o, o + CHUNK_SIZE));
  const tree = new PositionalTree(chunks.map((c) => chunkLeafBuffer(c)));
  return { bytes, chunks, chunkProof: (i) => tree.proof(i), hash: fileHashBuffer(length, tree.rootBuffer) };
}

export function buildGasTrajectory(T: number, k: number, stateBytes: number, salt: string): GasTrajectory {
  const intervals = T / k;
  const n = intervals + 1;
  const disputedInterval = Math.floor(intervals / 2);
  const disputedLocalStep = Math.floor(k / 2);
  const disputedStep = disputedInterval * k + disputedLocalStep;
  const file = stateFile(stateBytes);
  const saltBytes = Buffer.from(salt);
  const hashOf = (t: number): Buffer => (t === disputedStep ? file.hash : sha256(saltBytes, uint64Bytes(t)));
  const stepRoots: Buffer[] = [];
  let disputedTree: PositionalTree | null = null;
  for (let i = 0; i < intervals; i++) {
    const leaves: Buffer[] = [];
    for (let j = 0; j <= k; j++) {
      const t = i * k + j;
      leaves.push(sha256(TAG_STEP, uint64Bytes(t), hashOf(t)));
    }
    const tree = new PositionalTree(leaves);
    stepRoots.push(tree.rootBuffer);
    if (i === disputedInterval) disputedTree = tree;
  }
  const zero = fromHex(ZERO_HASH);
  const ckptLeaves: Buffer[] = [];
  for (let i = 0; i < n; i++) ckptLeaves.push(sha256(TAG_CKPT, uint64Bytes(i), hashOf(i * k), i < intervals ? stepRoots[i]! : zero));
  const ckptTree = new PositionalTree(ckptLeaves);
  return {
    T,
    k,
    n,
    checkpointRoot: ckptTree.root,
    disputedInterval,
    disputedLocalStep,
    disputedFile: file,
    stateHash: (t) => toHex(hashOf(t)),
    stepRoot: (i) => toHex(stepRoots[i]!),
    checkpointProof: (i) => ckptTree.proof(i),
    stepProof: (i, j) => {
      if (i !== disputedInterval || disputedTree === null) throw new Error("step proofs are kept for the disputed interval only");
      return disputedTree.proof(j);
    },
  };
}
