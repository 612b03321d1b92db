/**
 * The seam the trainer offers for decorating one job's step executor and batch source (the
 * adversarial modes of cheats.ts use it; production leaves both as they are). Its own module so
 * that the trainer and the worker's behaviour (behaviour.ts) both depend on it, not on each other.
 */
import type { Tolerance } from "../engine/manifest";
import type { BatchSource, StepExecutor } from "../engine/step";

/** The step executor and batch source one job trains with. */
export interface TrainingInputs {
  readonly runner: StepExecutor;
  readonly batches: BatchSource;
}

/** The job a decorator is applied to (a cheat picks its steps from the key). */
export interface TrainingJob {
  /** `<jobId>:<specHash>`. */
  readonly key: string;
  readonly T: number;
  readonly k: number;
  /** The manifest's single-step tolerance. */
  readonly bounds?: Tolerance;
}

/** Wraps the honest executor and batch source of one job. */
export type StepDecorator = (honest: TrainingInputs, job: TrainingJob) => TrainingInputs;
