/**
 * Replays one interval from its committed checkpoint (auditors, dispute serving, `upow replay`):
 * per-step state hashes, the interval's step root and the final state, bit for bit as the trainer
 * made them when the runner is deterministic.
 */
import { stepRoot as stepRootOf, type Hash } from "../protocol/hashing";
import type { TensorMap } from "./tensor";
import { encodeState, hashStateBytes, type BatchSource, type StepExecutor } from "./step";
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
  if (!Number.isSafeInteger(p.startStep) || p.startStep < 0) throw new TrainerError("startStep must be an integer ≥ 0", { details: { startStep: p.startStep } });
  const hashes: Hash[] = [hashStateBytes(encodeState(p.state))];
  const losses: number[] = [];
  let state = p.state;
  for (let j = 0; j < p.k; j++) {
    if (p.signal?.aborted) throw new TrainerError("replay aborted", { cause: p.signal.reason });
    const t = p.startStep + j;
    const out = await p.runner.step(state, await p.batches(t), p.hp);
    state = out.next;
    const h = hashStateBytes(encodeState(state));
    hashes.push(h);
    losses.push(out.loss);
    await p.onState?.(t + 1, state, h);
  }
  return { stateHashes: hashes, stepRoot: stepRootOf(hashes, p.startStep), finalState: state, finalStateHash: hashes[p.k]!, losses };
}
