/**
 * The worker's training loop (PROTOCOL.md §3): runs T steps, hashes every step's state, builds each
 * interval's step root and the checkpoint root, keeps checkpoints in a content-addressed directory
 * and resumes from the last complete checkpoint after a crash.
 */
import { ZERO_HASH, checkpointTree, stepRoot as stepRootOf, type Hash } from "../protocol/hashing";
import type { TensorMap } from "./tensor";
import { CheckpointStore, type CheckpointIndex, type IntervalRecord, type JobKey } from "./checkpoints";
import { CheckpointWriter } from "./checkpointWriter";
import { InOrder } from "./inOrder";
import {
  assertDeterministic,
  encodeState,
  hashStateBytes,
  hashStateOffThread,
  type BatchSource,
  type HashedState,
  type StepExecutor,
} from "./step";
import { CheckpointStoreError, TrainerError } from "./trainErrors";

export interface TrainProgress {
  /** Global step just completed (1..T). */
  readonly step: number;
  readonly T: number;
  readonly loss: number;
  readonly stateHash: Hash;
  /** Set when `step` closed a checkpoint. */
  readonly checkpoint?: number;
}

export interface TrainParameters {
  readonly runner: StepExecutor;
  readonly initialState: TensorMap;
  /** Batch of global step t (the manifest's batch order applied to the data set). */
  readonly batches: BatchSource;
  readonly hp: Readonly<Record<string, number>>;
  /** Total steps; `T % k == 0`. */
  readonly T: number;
  /** Checkpoint interval. */
  readonly k: number;
  /** Checkpoint directory (created if missing); an existing run there for the same job is resumed. */
  readonly dir: string;
  /** Binds the directory to one job (e.g. the manifest's spec hash); a different job refuses to resume. */
  readonly jobId?: string;
  /** Keep every step's state file, not just checkpoints. @default false */
  readonly keepStepStates?: boolean;
  /** Run each checkpoint's first step twice and require identical bytes (§3). @default true */
  readonly selfCheck?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult {
  readonly checkpointRoot: Hash;
  /** Number of checkpoint leaves, `T/k + 1`. */
  readonly n: number;
  readonly initialStateHash: Hash;
  readonly finalStateHash: Hash;
  /** Proof that leaf 0 holds the initial state (for submitResult). */
  readonly proofFirst: Hash[];
  /** Proof that leaf n-1 holds the final state. */
  readonly proofLast: Hash[];
  /** Proof of checkpoint leaf i. */
  proof(i: number): Hash[];
  readonly checkpointLeaves: readonly Hash[];
  readonly intervals: readonly IntervalRecord[];
  readonly finalState: TensorMap;
  /** Per-step losses, index t-1 for step t. */
  readonly losses: readonly number[];
  /** Checkpoint index the run resumed from (null for a fresh run). */
  readonly resumedFrom: number | null;
}

/**
 * Trains T steps, resuming from `dir` when it holds a partial run of the same job.
 *
 * The step runs on this thread (onnxruntime-node's `run` is synchronous), so everything else is moved
 * off it: each state's canonical bytes are moved to the hashing worker and hashed there while the
 * next steps run, and checkpoint files are written in the background (CheckpointWriter) without an
 * fsync each; one flush at the end makes the whole run durable before the result is returned.
 */
export async function train(p: TrainParameters): Promise<TrainResult> {
  validate(p);
  const store = await CheckpointStore.open(p.dir);
  const initialBytes = encodeState(p.initialState);
  const initialStateHash = hashStateBytes(initialBytes);
  const key: JobKey = { jobId: p.jobId ?? null, T: p.T, k: p.k, hp: { ...p.hp }, initialStateHash };

  let index = await store.readIndex();
  let state: TensorMap;
  let resumedFrom: number | null = null;
  if (index && sameKey(index.key, key)) {
    ({ state, resumedFrom } = await resumePoint(store, index));
  } else {
    if (index)
      throw new TrainerError("checkpoint directory holds a different job", { details: { dir: p.dir, found: index.key, wanted: key } });
    const file = await store.putState(initialBytes);
    index = { version: 1, key, checkpoints: [{ i: 0, stateHash: initialStateHash, file }], intervals: [] };
    await store.writeIndex(index);
    state = p.initialState;
  }

  const n = p.T / p.k + 1;
  const writer = new CheckpointWriter();
  const ckpt: RunCursor = { hash: index.checkpoints[index.checkpoints.length - 1]!.stateHash, indexGeneration: 0 };
  try {
    for (let i = index.checkpoints.length - 1; i < n - 1; i++) {
      state = await runInterval(p, store, writer, index, i, state, ckpt);
    }
    await writer.drain();
  } catch (e) {
    // Never leave a write running unobserved; what was written stays valid for a resume.
    await writer.settle();
    throw e;
  }
  await store.flush();
  return finish(index, state, resumedFrom);
}

/**
 * The last checkpoint whose file still hashes to its recorded state hash. A later one that does not
 * (a power cut after an unsynced write) is dropped from the index with everything after it.
 */
async function resumePoint(store: CheckpointStore, index: CheckpointIndex): Promise<{ state: TensorMap; resumedFrom: number }> {
  for (let c = index.checkpoints.length - 1; c >= 0; c--) {
    let state: TensorMap;
    try {
      state = await store.loadState(index.checkpoints[c]!.file, index.checkpoints[c]!.stateHash);
    } catch (e) {
      if (c === 0 || !(e instanceof CheckpointStoreError)) throw e;
      continue;
    }
    if (c < index.checkpoints.length - 1) {
      index.checkpoints.splice(c + 1);
      index.intervals.splice(c);
      await store.writeIndex(index);
    }
    return { state, resumedFrom: c };
  }
  throw new TrainerError("checkpoint directory has no checkpoints");
}

/** States whose hash may still be computing while training runs ahead (each holds its bytes). */
const HASHES_IN_FLIGHT = 2;

/** What runInterval carries from one interval to the next. */
interface RunCursor {
  /** State hash of the last checkpoint (its index entry may still be queued for writing). */
  hash: Hash;
  /** Number of index writes queued so far. */
  indexGeneration: number;
}

async function runInterval(
  p: TrainParameters,
  store: CheckpointStore,
  writer: CheckpointWriter,
  index: CheckpointIndex,
  i: number,
  start: TensorMap,
  ckpt: RunCursor,
): Promise<TensorMap> {
  const first = i * p.k;
  // Hashes of the k states, computed in the hashing worker while the following steps run here.
  const hashes: Hash[] = [ckpt.hash];
  const losses: number[] = [];
  const stepFiles: Promise<string>[] = [];
  let state = start;
  let end: HashedState | null = null;
  // Step j's progress is reported (and its kept file queued) once its hash is in, in order.
  const results = new InOrder<HashedState>(HASHES_IN_FLIGHT, async (h, j) => {
    hashes.push(h.stateHash);
    if (j === p.k - 1) end = h;
    else if (p.keepStepStates) {
      stepFiles.push(writer.run(() => store.putState(h.bytes, { durable: false, address: h.address })));
      await writer.room();
    }
    p.onProgress?.({
      step: first + j + 1,
      T: p.T,
      loss: losses[j]!,
      stateHash: h.stateHash,
      ...(j === p.k - 1 ? { checkpoint: i + 1 } : {}),
    });
  });
  try {
    for (let j = 0; j < p.k; j++) {
      const t = first + j;
      if (p.signal?.aborted) throw new TrainerError("training aborted", { cause: p.signal.reason, details: { step: t } });
      const batch = await p.batches(t);
      const out = await p.runner.step(state, batch, p.hp);
      const bytes = encodeState(out.next, { own: true });
      if (j === 0 && p.selfCheck !== false) await assertDeterministic(p.runner, state, batch, p.hp, bytes, t);
      losses.push(out.loss);
      // Stored states also need their content address: the worker computes it with the hash.
      results.push(hashStateOffThread(bytes, { address: p.keepStepStates === true || j === p.k - 1 }));
      state = out.next;
      await results.drain();
    }
    await results.drain(true);
    // An abort seen by a progress callback above drops this interval's checkpoint, as mid-interval.
    if (p.signal?.aborted) throw new TrainerError("training aborted", { cause: p.signal.reason, details: { step: first + p.k } });
  } catch (e) {
    await results.settle();
    throw e;
  }
  const interval: IntervalRecord = { i, stepRoot: stepRootOf(hashes, first), stateHashes: hashes, losses };
  const last = end as HashedState | null;
  if (last === null) throw new TrainerError("interval ended without its last state", { details: { interval: i } });
  // State file first, then the index that names it (the writer keeps this order). When writes fall
  // behind, only the newest queued checkpoint rewrites the index (it names the earlier ones too).
  const generation = ++ckpt.indexGeneration;
  void writer.run(async () => {
    let file: string;
    try {
      file = await store.putState(last.bytes, { durable: false, address: last.address });
      index.intervals.push(p.keepStepStates ? { ...interval, stepFiles: await Promise.all(stepFiles) } : interval);
    } catch (e) {
      // An earlier checkpoint may have left its index write to this one: record it before failing.
      await store.writeIndex(index).catch(() => undefined);
      throw e;
    }
    index.checkpoints.push({ i: i + 1, stateHash: last.stateHash, file });
    if (generation === ckpt.indexGeneration) await store.writeIndex(index);
  });
  await writer.room();
  ckpt.hash = hashes[p.k]!;
  return state;
}

function finish(index: CheckpointIndex, finalState: TensorMap, resumedFrom: number | null): TrainResult {
  const n = index.checkpoints.length;
  const tree = checkpointTree(
    index.checkpoints.map((c, i) => ({ stateHash: c.stateHash, stepRoot: i < n - 1 ? index.intervals[i]!.stepRoot : ZERO_HASH })),
  );
  return {
    checkpointRoot: tree.root,
    n,
    initialStateHash: index.checkpoints[0]!.stateHash,
    finalStateHash: index.checkpoints[n - 1]!.stateHash,
    proofFirst: tree.proof(0),
    proofLast: tree.proof(n - 1),
    proof: (i: number) => tree.proof(i),
    checkpointLeaves: tree.leaves,
    intervals: index.intervals,
    finalState,
    losses: index.intervals.flatMap((r) => r.losses),
    resumedFrom,
  };
}

function validate(p: TrainParameters): void {
  if (!Number.isSafeInteger(p.k) || p.k < 1) throw new TrainerError("k must be a positive integer", { details: { k: p.k } });
  if (!Number.isSafeInteger(p.T) || p.T < 1 || p.T % p.k !== 0) {
    throw new TrainerError("T must be a positive multiple of k", { details: { T: p.T, k: p.k } });
  }
}

function sameKey(a: JobKey, b: JobKey): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}
