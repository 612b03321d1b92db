/**
 * The result index a worker publishes with its submission (docs/worker.md): canonical JSON stored
 * in the artifact store; the on-chain `resultURI` is `<publicBaseUrl>/artifacts/<sha256 of the bytes>`.
 * It names, for every checkpoint and every step state of every interval, the state hash the worker
 * committed to and the sha256 under which the state file can be fetched, so auditors, challengers
 * and jurors can fetch any state and check it against the checkpoint root on chain.
 */
import { createHash } from "node:crypto";
import { UPowError } from "./errors";
import { ZERO_HASH, checkpointLeaf, checkpointTree, stepLeaf, stepTree, toHex, verifyProof, type Hash } from "./hashing";
import { canonicalJsonBytes } from "./canonicalJson";

export const RESULT_INDEX_VERSION = 1;

/** A state file: its committed state hash (fileHash) and its store address (plain sha256, 64 hex). */
export interface IndexedState {
  readonly stateHash: Hash;
  readonly sha256: string;
}

export interface IndexedCheckpoint extends IndexedState {
  /** Step root of the interval that starts here; ZERO_HASH for the last checkpoint. */
  readonly stepRoot: Hash;
}

export interface IndexedInterval {
  /** The k+1 states of the interval; `steps[j]` is the state after global step `i·k + j`. */
  readonly steps: readonly IndexedState[];
}

export interface ResultIndex {
  readonly version: typeof RESULT_INDEX_VERSION;
  /** On-chain job id, decimal. */
  readonly jobId: string;
  readonly specHash: Hash;
  readonly checkpointRoot: Hash;
  readonly T: number;
  readonly k: number;
  /** `T/k + 1` checkpoints. */
  readonly checkpoints: readonly IndexedCheckpoint[];
  /** `T/k` intervals. */
  readonly intervals: readonly IndexedInterval[];
  /** Base URLs of artifact servers holding the files (`<base>/artifacts/<sha256>`). */
  readonly artifactBaseUrls: readonly string[];
}

export type ResultIndexProblem =
  | "not-json"
  | "not-object"
  | "bad-field"
  | "bad-shape"
  | "step-root-mismatch"
  | "checkpoint-root-mismatch"
  | "boundary-mismatch"
  | "not-canonical";

/** A result index that cannot be parsed or does not hold together; `problem` says which rule failed. */
export class ResultIndexError extends UPowError {
  override readonly name = "ResultIndexError";
  constructor(
    readonly problem: ResultIndexProblem,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(`result index: ${message}`, details ? { details: { problem, ...details } } : { details: { problem } });
  }
}

const HEX32 = /^0x[0-9a-f]{64}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
/** Sanity bound on the number of states listed (a hostile index must not exhaust memory). */
export const MAX_INDEXED_STATES = 1_000_000;

// ---- building ----------------------------------------------------------------------------------

export interface BuildResultIndexParameters {
  readonly jobId: bigint | string;
  readonly specHash: Hash;
  readonly T: number;
  readonly k: number;
  /** `T/k` intervals of `k+1` states each; checkpoint i is `intervals[i].steps[0]`, the last is `intervals[n-2].steps[k]`. */
  readonly intervals: readonly (readonly IndexedState[])[];
  readonly artifactBaseUrls: readonly string[];
}

/** Builds (and validates) the index: step roots and the checkpoint root are computed here. */
export function buildResultIndex(p: BuildResultIndexParameters): ResultIndex {
  const intervals = p.intervals.map((steps) => ({ steps: steps.map((s) => ({ stateHash: s.stateHash, sha256: s.sha256 })) }));
  const n = intervals.length + 1;
  const checkpoints: IndexedCheckpoint[] = [];
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    const s = last ? intervals[i - 1]?.steps[p.k] : intervals[i]?.steps[0];
    if (!s) throw new ResultIndexError("bad-shape", "intervals do not have k+1 states each", { interval: i });
    const stepRoot = last
      ? ZERO_HASH
      : stepTree(
          intervals[i]!.steps.map((x) => x.stateHash),
          i * p.k,
        ).root;
    checkpoints.push({ stateHash: s.stateHash, sha256: s.sha256, stepRoot });
  }
  const index: ResultIndex = {
    version: RESULT_INDEX_VERSION,
    jobId: BigInt(p.jobId).toString(),
    specHash: p.specHash,
    checkpointRoot: checkpointTree(checkpoints).root,
    T: p.T,
    k: p.k,
    checkpoints,
    intervals,
    artifactBaseUrls: [...p.artifactBaseUrls],
  };
  validateResultIndex(index);
  return index;
}

/** Canonical bytes of the index (what is stored and hashed). */
export function encodeResultIndex(index: ResultIndex): Buffer {
  return canonicalJsonBytes(index);
}

/** Store address of the index: plain sha256 of its canonical bytes, 64 hex. */
export function resultIndexAddress(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `<base>/artifacts/<sha256>`: the on-chain resultURI. */
export function resultUri(publicBaseUrl: string, address: string): string {
  return `${publicBaseUrl.replace(/\/+$/, "")}/artifacts/${address}`;
}

// ---- parsing and validation -----------------------------------------------------------------------

export interface ParseResultIndexOptions {
  /** Require the bytes to be exactly the canonical encoding (they hash to the resultURI). @default true */
  readonly requireCanonical?: boolean;
  /**
   * `lenient`: accept an interval whose first/last state differs from its checkpoint (the step root
   * must still rebuild). Such an index is a provable cheat (DisputeManager.proveBoundaryMismatch),
   * so a verifier must not drop it as malformed; `boundaryMismatches` lists them. @default "strict"
   */
  readonly boundaries?: "strict" | "lenient";
  /** Reject an index whose job id / spec hash / checkpoint root differ from these (on-chain values). */
  readonly expect?: {
    readonly jobId?: bigint;
    readonly specHash?: Hash;
    readonly checkpointRoot?: Hash;
    readonly initialStateHash?: Hash;
    readonly finalStateHash?: Hash;
  };
}

/** Parses and validates the bytes of a result index; ResultIndexError names what is wrong. */
export function parseResultIndex(bytes: Uint8Array | string, options: ParseResultIndexOptions = {}): ResultIndex {
  const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new ResultIndexError("not-json", "not JSON", { cause: String(cause) });
  }
  const index = validateResultIndex(v, options.boundaries ?? "strict");
  if (options.requireCanonical !== false && encodeResultIndex(index).toString("utf8") !== text) {
    throw new ResultIndexError("not-canonical", "bytes are not the canonical (RFC 8785) encoding");
  }
  const e = options.expect;
  if (e) {
    const check = (field: string, want: string | undefined, got: string): void => {
      if (want !== undefined && want.toLowerCase() !== got) {
        throw new ResultIndexError("boundary-mismatch", `${field} differs from the expected value`, { field, want, got });
      }
    };
    check("jobId", e.jobId?.toString(), index.jobId);
    check("specHash", e.specHash, index.specHash);
    check("checkpointRoot", e.checkpointRoot, index.checkpointRoot);
    check("initialStateHash", e.initialStateHash, index.checkpoints[0]!.stateHash);
    check("finalStateHash", e.finalStateHash, index.checkpoints[index.checkpoints.length - 1]!.stateHash);
  }
  return index;
}

/**
 * Checks the structure and every internal commitment: each interval's states rebuild the checkpoint's
 * step root, interval boundaries equal the checkpoints, and the checkpoints rebuild checkpointRoot.
 */
function validateResultIndex(v: unknown, boundaries: "strict" | "lenient" = "strict"): ResultIndex {
  const strict = boundaries === "strict";
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new ResultIndexError("not-object", "top level is not an object");
  const o = v as Record<string, unknown>;
  const allowed = new Set(["version", "jobId", "specHash", "checkpointRoot", "T", "k", "checkpoints", "intervals", "artifactBaseUrls"]);
  for (const key of Object.keys(o)) if (!allowed.has(key)) throw new ResultIndexError("bad-field", `unknown field ${key}`, { field: key });
  if (o.version !== RESULT_INDEX_VERSION) throw field("version", o.version);
  if (typeof o.jobId !== "string" || !DECIMAL.test(o.jobId) || BigInt(o.jobId) >= 1n << 256n) throw field("jobId", o.jobId);
  const specHash = hash32(o.specHash, "specHash");
  const checkpointRoot = hash32(o.checkpointRoot, "checkpointRoot");
  const T = o.T;
  const k = o.k;
  if (typeof k !== "number" || !Number.isSafeInteger(k) || k < 1) throw field("k", k);
  if (typeof T !== "number" || !Number.isSafeInteger(T) || T < 1 || T % k !== 0) throw field("T", T);
  const n = T / k + 1;
  if (n * (k + 1) > MAX_INDEXED_STATES) throw new ResultIndexError("bad-shape", "too many states", { T, k });
  if (!Array.isArray(o.checkpoints) || o.checkpoints.length !== n) {
    throw new ResultIndexError("bad-shape", "checkpoints must have T/k+1 entries", {
      want: n,
      got: Array.isArray(o.checkpoints) ? o.checkpoints.length : null,
    });
  }
  if (!Array.isArray(o.intervals) || o.intervals.length !== n - 1) {
    throw new ResultIndexError("bad-shape", "intervals must have T/k entries", {
      want: n - 1,
      got: Array.isArray(o.intervals) ? o.intervals.length : null,
    });
  }
  if (!Array.isArray(o.artifactBaseUrls) || o.artifactBaseUrls.length === 0 || !o.artifactBaseUrls.every(isHttpUrl)) {
    throw field("artifactBaseUrls", o.artifactBaseUrls);
  }
  const checkpoints = (o.checkpoints as unknown[]).map((c, i): IndexedCheckpoint => {
    const s = state(c, `checkpoints[${i}]`, ["stateHash", "sha256", "stepRoot"]);
    return { ...s, stepRoot: hash32((c as Record<string, unknown>).stepRoot, `checkpoints[${i}].stepRoot`) };
  });
  const intervals = (o.intervals as unknown[]).map((r, i): IndexedInterval => {
    if (r === null || typeof r !== "object" || Array.isArray(r)) throw field(`intervals[${i}]`, r);
    const keys = Object.keys(r);
    if (keys.length !== 1 || keys[0] !== "steps") throw field(`intervals[${i}]`, keys);
    const steps = (r as { steps: unknown }).steps;
    if (!Array.isArray(steps) || steps.length !== k + 1) {
      throw new ResultIndexError("bad-shape", "an interval must list k+1 states", {
        interval: i,
        want: k + 1,
        got: Array.isArray(steps) ? steps.length : null,
      });
    }
    return { steps: steps.map((s, j) => state(s, `intervals[${i}].steps[${j}]`, ["stateHash", "sha256"])) };
  });
  for (let i = 0; i < n; i++) {
    const c = checkpoints[i]!;
    if (i < n - 1) {
      const first = intervals[i]!.steps[0]!;
      if (strict && (first.stateHash !== c.stateHash || first.sha256 !== c.sha256)) {
        throw new ResultIndexError("boundary-mismatch", "an interval's first state is not its checkpoint", { interval: i });
      }
      const root = stepTree(
        intervals[i]!.steps.map((s) => s.stateHash),
        i * k,
      ).root;
      if (root !== c.stepRoot)
        throw new ResultIndexError("step-root-mismatch", "interval states do not rebuild the step root", {
          interval: i,
          want: c.stepRoot,
          got: root,
        });
    } else if (c.stepRoot !== ZERO_HASH) {
      throw new ResultIndexError("step-root-mismatch", "the last checkpoint's step root must be zero", { checkpoint: i });
    }
    if (i > 0) {
      const end = intervals[i - 1]!.steps[k]!;
      if (strict && (end.stateHash !== c.stateHash || end.sha256 !== c.sha256)) {
        throw new ResultIndexError("boundary-mismatch", "an interval's last state is not the next checkpoint", { interval: i - 1 });
      }
    }
  }
  const root = checkpointTree(checkpoints).root;
  if (root !== checkpointRoot)
    throw new ResultIndexError("checkpoint-root-mismatch", "checkpoints do not rebuild checkpointRoot", {
      want: checkpointRoot,
      got: root,
    });
  return {
    version: RESULT_INDEX_VERSION,
    jobId: o.jobId,
    specHash,
    checkpointRoot,
    T,
    k,
    checkpoints,
    intervals,
    artifactBaseUrls: [...(o.artifactBaseUrls as string[])],
  };
}

function field(name: string, value: unknown): ResultIndexError {
  return new ResultIndexError("bad-field", `field ${name} is missing or malformed`, { field: name, value: safeValue(value) });
}

function safeValue(v: unknown): unknown {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.slice(0, 200);
}

function hash32(v: unknown, name: string): Hash {
  if (typeof v !== "string" || !HEX32.test(v)) throw field(name, v);
  return v;
}

function state(v: unknown, name: string, keys: readonly string[]): IndexedState {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw field(name, v);
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!keys.includes(key)) throw field(`${name}.${key}`, o[key]);
  const stateHash = hash32(o.stateHash, `${name}.stateHash`);
  if (typeof o.sha256 !== "string" || !SHA256.test(o.sha256)) throw field(`${name}.sha256`, o.sha256);
  return { stateHash, sha256: o.sha256 };
}

function isHttpUrl(u: unknown): boolean {
  if (typeof u !== "string" || u.length > 2048) return false;
  try {
    const url = new URL(u);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** Interval `interval`'s step leaf 0 (`atEnd` false) or k (`atEnd`) names another state than its checkpoint. */
export interface BoundaryMismatch {
  readonly interval: number;
  readonly atEnd: boolean;
  readonly checkpointStateHash: Hash;
  readonly stepStateHash: Hash;
}

/**
 * The boundary mismatches a verifier can prove on chain: only state hashes count (the chain holds
 * no sha256). A sha256 that differs for the same state hash names the same committed state.
 */
export function boundaryMismatches(index: ResultIndex): BoundaryMismatch[] {
  const out: BoundaryMismatch[] = [];
  index.intervals.forEach((r, i) => {
    if (r.steps.length === 0) return; // a failed interval of a tolerant read (committedIndex.ts): nothing listed
    const first = r.steps[0]!.stateHash;
    const last = r.steps[index.k]!.stateHash;
    const c0 = index.checkpoints[i]!.stateHash;
    const c1 = index.checkpoints[i + 1]!.stateHash;
    if (first !== c0) out.push({ interval: i, atEnd: false, checkpointStateHash: c0, stepStateHash: first });
    if (last !== c1) out.push({ interval: i, atEnd: true, checkpointStateHash: c1, stepStateHash: last });
  });
  return out;
}

// ---- proofs ---------------------------------------------------------------------------------

export interface CheckpointProof {
  readonly index: number;
  readonly n: number;
  readonly stateHash: Hash;
  readonly stepRoot: Hash;
  readonly leaf: Hash;
  readonly proof: Hash[];
}

export interface StepProof {
  readonly interval: number;
  readonly j: number;
  readonly globalStep: number;
  readonly stateHash: Hash;
  readonly leaf: Hash;
  /** Proof within the interval's step tree (`k+1` leaves) against `checkpoints[interval].stepRoot`. */
  readonly proof: Hash[];
}

/** Proof of checkpoint leaf i against index.checkpointRoot. */
export function checkpointProof(index: ResultIndex, i: number): CheckpointProof {
  const tree = checkpointTree(index.checkpoints);
  const c = index.checkpoints[i];
  if (!c) throw new ResultIndexError("bad-shape", "checkpoint index out of range", { i, n: tree.n });
  return { index: i, n: tree.n, stateHash: c.stateHash, stepRoot: c.stepRoot, leaf: tree.leaves[i]!, proof: tree.proof(i) };
}

/** Proof of step leaf j (0..k) of interval i against that interval's step root. */
export function stepProof(index: ResultIndex, i: number, j: number): StepProof {
  const r = index.intervals[i];
  if (!r || !Number.isSafeInteger(j) || j < 0 || j > index.k) {
    throw new ResultIndexError("bad-shape", "step position out of range", {
      interval: i,
      j,
      intervals: index.intervals.length,
      k: index.k,
    });
  }
  const tree = stepTree(
    r.steps.map((s) => s.stateHash),
    i * index.k,
  );
  const globalStep = i * index.k + j;
  return { interval: i, j, globalStep, stateHash: r.steps[j]!.stateHash, leaf: toHex(tree.leafBuffer(j)), proof: tree.proof(j) };
}

/**
 * State hashes of step leaves `first .. first+count-1` of interval i and their range proof against
 * that interval's step root: the arguments of DataAvailability.proveStepLeaves / answerStepLeaves.
 */
export function stepRangeProof(index: ResultIndex, i: number, first: number, count: number): { stateHashes: Hash[]; rangeProof: Hash[] } {
  const r = index.intervals[i];
  if (!r || !Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 1 || first + count > index.k + 1) {
    throw new ResultIndexError("bad-shape", "step range out of range", { interval: i, first, count, k: index.k });
  }
  const hashes = r.steps.map((s) => s.stateHash);
  return { stateHashes: hashes.slice(first, first + count), rangeProof: stepTree(hashes, i * index.k).rangeProof(first, count) };
}

/** Checks a checkpoint proof against a root (as a contract would). */
export function verifyCheckpointProof(root: Hash, p: CheckpointProof): boolean {
  return checkpointLeaf(p.index, p.stateHash, p.stepRoot) === p.leaf && verifyProof(root, p.n, p.index, p.leaf, p.proof);
}

/** Checks a step proof against an interval's step root and k. */
export function verifyStepProof(stepRootHash: Hash, k: number, p: StepProof): boolean {
  return stepLeaf(p.globalStep, p.stateHash) === p.leaf && verifyProof(stepRootHash, k + 1, p.j, p.leaf, p.proof);
}
