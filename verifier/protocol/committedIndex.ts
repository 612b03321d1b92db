/**
 * The tolerant reading of a result index (v3 V1.4): a verifier judges what the worker committed,
 * not how the JSON was written. Whitespace, key order and unknown fields do not matter; the
 * checkpoint list must rebuild the on-chain checkpointRoot (else nothing in the index can be trusted
 * and the verifier demands the leaves on chain); each interval is then judged on its own: one whose
 * step leaves are missing, malformed or do not rebuild its step root is a failed interval, pursued
 * on chain with a step-leaf demand, and does not spoil the others.
 */
import { UPowError } from "./errors";
import { checkpointTree, stepTree, type Hash } from "./hashing";
import {
  MAX_INDEXED_STATES,
  RESULT_INDEX_VERSION,
  type IndexedCheckpoint,
  type IndexedInterval,
  type IndexedState,
  type ResultIndex,
} from "./resultIndex";

/** Why an interval of an index cannot be used: its step leaves must come from the chain. */
export type IntervalProblem = "missing" | "malformed" | "step-root-mismatch";

export interface IntervalVerdict {
  readonly interval: number;
  readonly problem: IntervalProblem;
  readonly message: string;
  /**
   * The well-formed entries it did list, by position (null where none): their store addresses serve
   * to fetch the states once the committed leaves are on chain (each file is checked against them).
   */
  readonly listed: readonly (IndexedState | null)[];
}

/**
 * An index whose checkpoints rebuild the on-chain root. `index.intervals[i].steps` is empty for
 * every interval listed in `failed` (its leaves are not the committed ones, or not there).
 */
export interface CommittedIndex {
  readonly index: ResultIndex;
  readonly failed: readonly IntervalVerdict[];
}

/** What the chain says about the job (the only things an index is checked against). */
export interface CommittedJob {
  readonly jobId: bigint;
  readonly checkpointRoot: Hash;
  readonly totalSteps: number;
  readonly checkpointInterval: number;
  /** Used when the index names no usable artifact base: the base the index itself was served from. */
  readonly fallbackBaseUrl: string;
}

/** The checkpoint list of an index cannot be verified against the chain (or the bytes are no index at all). */
export class CheckpointsUnverifiableError extends UPowError {
  override readonly name = "CheckpointsUnverifiableError";
  constructor(message: string, details?: Record<string, unknown>) {
    super(`result index: ${message}`, details ? { details } : {});
  }
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;

/** Reads index bytes against the chain's commitments; throws CheckpointsUnverifiableError only when no interval can be judged. */
export function readCommittedIndex(bytes: Uint8Array | string, job: CommittedJob): CommittedIndex {
  const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new CheckpointsUnverifiableError("not JSON", { cause: String(cause).slice(0, 200) });
  }
  if (!isObject(v)) throw new CheckpointsUnverifiableError("top level is not an object");
  const T = job.totalSteps;
  const k = job.checkpointInterval;
  if (!Number.isSafeInteger(k) || k < 1 || !Number.isSafeInteger(T) || T % k !== 0) {
    throw new CheckpointsUnverifiableError("job terms T/k are not usable", { T, k });
  }
  const n = T / k + 1;
  if (n * (k + 1) > MAX_INDEXED_STATES) throw new CheckpointsUnverifiableError("too many states", { T, k });
  const checkpoints = readCheckpoints(v.checkpoints, n);
  const root = checkpointTree(checkpoints).root;
  if (root !== job.checkpointRoot.toLowerCase()) {
    throw new CheckpointsUnverifiableError("checkpoints do not rebuild the on-chain checkpointRoot", {
      want: job.checkpointRoot,
      got: root,
    });
  }
  const rawIntervals = Array.isArray(v.intervals) ? v.intervals : [];
  const failed: IntervalVerdict[] = [];
  const intervals: IndexedInterval[] = [];
  for (let i = 0; i < n - 1; i++) {
    const judged = judgeInterval(rawIntervals[i], i, k, checkpoints[i]!.stepRoot);
    if ("problem" in judged) {
      failed.push(judged);
      intervals.push({ steps: [] });
    } else {
      intervals.push(judged);
    }
  }
  const bases = Array.isArray(v.artifactBaseUrls) ? v.artifactBaseUrls.filter(isHttpUrl) : [];
  const index: ResultIndex = {
    version: RESULT_INDEX_VERSION,
    jobId: job.jobId.toString(),
    specHash: typeof v.specHash === "string" && HEX32.test(v.specHash) ? v.specHash.toLowerCase() : `0x${"00".repeat(32)}`,
    checkpointRoot: root,
    T,
    k,
    checkpoints,
    intervals,
    artifactBaseUrls: bases.length > 0 ? bases : [job.fallbackBaseUrl],
  };
  return { index, failed };
}

function readCheckpoints(raw: unknown, n: number): IndexedCheckpoint[] {
  if (!Array.isArray(raw) || raw.length !== n) {
    throw new CheckpointsUnverifiableError("checkpoints must list T/k+1 entries", { want: n, got: Array.isArray(raw) ? raw.length : null });
  }
  return raw.map((c, i): IndexedCheckpoint => {
    const s = readState(c);
    const stepRoot = isObject(c) && typeof c.stepRoot === "string" && HEX32.test(c.stepRoot) ? c.stepRoot.toLowerCase() : null;
    if (!s || stepRoot === null) throw new CheckpointsUnverifiableError(`checkpoint ${i} is malformed`, { checkpoint: i });
    return { ...s, stepRoot };
  });
}

function judgeInterval(raw: unknown, i: number, k: number, stepRoot: Hash): IndexedInterval | IntervalVerdict {
  const steps = isObject(raw) ? raw.steps : undefined;
  if (!Array.isArray(steps) || steps.length === 0)
    return { interval: i, problem: "missing", message: `interval ${i} lists no step states`, listed: [] };
  const listed = steps.slice(0, k + 1).map(readState);
  if (steps.length !== k + 1) {
    return { interval: i, problem: "malformed", message: `interval ${i} lists ${steps.length} states, not k+1 = ${k + 1}`, listed };
  }
  const bad = listed.findIndex((s) => s === null);
  if (bad >= 0) return { interval: i, problem: "malformed", message: `interval ${i} step ${bad} is malformed`, listed };
  const states = listed as IndexedState[];
  const root = stepTree(
    states.map((s) => s.stateHash),
    i * k,
  ).root;
  if (root !== stepRoot)
    return { interval: i, problem: "step-root-mismatch", message: `interval ${i}'s step states do not rebuild its step root`, listed };
  return { steps: states };
}

function readState(v: unknown): IndexedState | null {
  if (!isObject(v)) return null;
  const { stateHash, sha256 } = v;
  if (typeof stateHash !== "string" || !HEX32.test(stateHash) || typeof sha256 !== "string" || !SHA256.test(sha256)) return null;
  return { stateHash: stateHash.toLowerCase(), sha256: sha256.toLowerCase() };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isHttpUrl(u: unknown): u is string {
  if (typeof u !== "string" || u.length > 2048) return false;
  try {
    const url = new URL(u);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
