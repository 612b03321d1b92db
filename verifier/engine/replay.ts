/**
 * Replays one interval from its committed checkpoint (auditors, dispute serving, `upow replay`):
 * per-step state hashes, the interval's step root and the final state, bit for bit as the trainer
 * made them when the runner is deterministic.
 */
import { stepRoot as stepRootOf, type Hash } from "../protocol/hashing";
import type { TensorMap } from "./tensor";
import { encodeState, hashStateOffThread, type BatchSource, type StepExecutor } from "./step";
import { InOrder } from "./inOrder";
import { TrainerError } from "./trainErrors";

export interface ReplayParameters {
  readonly runner: StepExecutor;
  /** State at global step `startStep` (checkpoint i: startStep = i·k). */
  readonly state: TensorMap;
  readonly startStep: number;
  readonly k: number;
  readonly batches: BatchSource;
  readonly hp: Readonly<Record<string, number>>;
  /** Called with every intermediate state (e.g. to keep them for a dispute). */
  readonly onState?: (globalStep: number, state: TensorMap, stateHash: Hash) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export interface ReplayResult {
  /** k+1 state hashes: the start state, then after each step. */
  readonly stateHashes: readonly Hash[];
  readonly stepRoot: Hash;
  readonly finalState: TensorMap;
  readonly finalStateHash: Hash;
  readonly losses: readonly number[];
}

export async function replay(p: ReplayParameters): Promise<ReplayResult> {
  if (!Number.isSafeInteger(p.k) || p.k < 1) throw new TrainerError("k must be a positive integer", { details: { k: p.k } });
  if (!Number.isSafeInteger(p.startStep) || p.startStep < 0)
    throw new TrainerError("startStep must be an integer ≥ 0", { details: { startStep: p.startStep } });
  // As in train(): each state is hashed in the hashing worker while the next steps run on this
  // thread; onState sees each state once its hash is in, in order.
  const hashes: Hash[] = [];
  const losses: number[] = [];
  const results = new InOrder<{ hash: Hash; state: TensorMap }>(2, async ({ hash, state }, j) => {
    hashes.push(hash);
    if (j > 0) await p.onState?.(p.startStep + j, state, hash);
  });
  const hashed = (s: TensorMap): Promise<{ hash: Hash; state: TensorMap }> => stateHashOffThread(s).then((hash) => ({ hash, state: s }));
  results.push(hashed(p.state));
  let state = p.state;
  try {
    for (let j = 0; j < p.k; j++) {
      if (p.signal?.aborted) throw new TrainerError("replay aborted", { cause: p.signal.reason });
      const t = p.startStep + j;
      const out = await p.runner.step(state, await p.batches(t), p.hp);
      state = out.next;
      losses.push(out.loss);
      results.push(hashed(state));
      await results.drain();
    }
    await results.drain(true);
  } catch (e) {
    await results.settle();
    throw e;
  }
  return { stateHashes: hashes, stepRoot: stepRootOf(hashes, p.startStep), finalState: state, finalStateHash: hashes[p.k]!, losses };
}

async function stateHashOffThread(state: TensorMap): Promise<Hash> {
  return (await hashStateOffThread(encodeState(state, { own: true }))).stateHash;
}
