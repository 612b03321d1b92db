/**
 * The worker's training loop (PROTOCOL.md §3): runs T steps, hashes every step's state, builds each
 * interval's step root and the checkpoint root, keeps checkpoints in a content-addressed directory
 * and resumes from the last complete checkpoint after a crash.
 */
import { ZERO_HASH, checkpointTree, stepRoot as stepRootOf, type Hash } from "../protocol/hashing";
import type { TensorMap } from "./tensor";
import { CheckpointStore, type CheckpointIndex, type IntervalRecord, type JobKey } from "./checkpoints";
import { assertDeterministic, encodeState, hashStateBytes, type BatchSource, type StepExecutor, type StepOutput } from "./step";
import { TrainerError } from "./trainErrors";

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

/** Trains T steps, resuming from `dir` when it holds a partial run of the same job. */
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
    const last = index.checkpoints.length - 1;
    state = await store.loadState(index.checkpoints[last]!.file, index.checkpoints[last]!.stateHash);
    resumedFrom = last;
  } else {
    if (index) throw new TrainerError("checkpoint directory holds a different job", { details: { dir: p.dir, found: index.key, wanted: key } });
    const file = await store.putState(initialBytes);
    index = { version: 1, key, checkpoints: [{ i: 0, stateHash: initialStateHash, file }], intervals: [] };
    await store.writeIndex(index);
    state = p.initialState;
  }

  const n = p.T / p.k + 1;
  for (let i = index.checkpoints.length - 1; i < n - 1; i++) {
    state = await runInterval(p, store, index, i, state);
  }
  return finish(index, state, resumedFrom);
}

async function runInterval(p: TrainParameters, store: CheckpointStore, index: CheckpointIndex, i: number, start: TensorMap): Promise<TensorMap> {
  const first = i * p.k;
  const hashes: Hash[] = [index.checkpoints[i]!.stateHash];
  const losses: number[] = [];
  const stepFiles: string[] = [];
  let state = start;
  let endBytes: Uint8Array | null = null;
  // The next step runs (on onnxruntime's threads) while this thread encodes and hashes the last state.
  let pending: Promise<StepOutput> | null = null;
  try {
    for (let j = 0; j < p.k; j++) {
      const t = first + j;
      if (p.signal?.aborted) throw new TrainerError("training aborted", { cause: p.signal.reason, details: { step: t } });
      let out: StepOutput;
      if (pending) {
        out = await pending;
        pending = null;
      } else {
        const batch = await p.batches(t);
        out = await p.runner.step(state, batch, p.hp);
        if (j === 0 && p.selfCheck !== false) await assertDeterministic(p.runner, state, batch, p.hp, encodeState(out.next), t);
      }
      if (j + 1 < p.k && !p.signal?.aborted) {
        const nextBatch = await p.batches(t + 1);
        pending = p.runner.step(out.next, nextBatch, p.hp);
      }
      const bytes = encodeState(out.next);
      const h = hashStateBytes(bytes);
      hashes.push(h);
      losses.push(out.loss);
      if (p.keepStepStates && j < p.k - 1) stepFiles.push(await store.putState(bytes));
      state = out.next;
      endBytes = bytes;
      p.onProgress?.({ step: t + 1, T: p.T, loss: out.loss, stateHash: h, ...(j === p.k - 1 ? { checkpoint: i + 1 } : {}) });
    }
  } catch (e) {
    // Never leave a step running unobserved.
    if (pending) await (pending as Promise<StepOutput>).catch(() => undefined);
    throw e;
  }
  // State first, then the index that names it: a crash between the two leaves an unreferenced object.
  const file = await store.putState(endBytes!);
  const interval: IntervalRecord = {
    i, stepRoot: stepRootOf(hashes, first), stateHashes: hashes, losses, ...(p.keepStepStates ? { stepFiles } : {}),
  };
  index.intervals.push(interval);
  index.checkpoints.push({ i: i + 1, stateHash: hashes[p.k]!, file });
  await store.writeIndex(index);
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
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, x]) => [k, sortKeys(x)]));
  }
  return v;
}
