/**
 * How the checks get a step executor: a factory the service wires to onnxruntime in a child process
 * (ProcessStepRunner), so the checks only know the small StepExecutor interface and the daemon's
 * event loop never runs a step (v3 V8.3). Two settings exist because a juror runs the step twice
 * under different settings (§10.4). Every runner is opened with the job's step budget.
 */
import type { GraphOptimizationLevel } from "../../engine/runner";
import type { StepExecutor } from "../../engine/step";
import { ProcessStepRunner, type StepBudget } from "../../engine/processRunner";

export interface RunnerSettingsChoice {
  threads: number;
  optLevel: GraphOptimizationLevel;
}

/**
 * The reference setting of v3 V9.1 (and of `upow calibrate`): one intra-op thread, all graph
 * optimisations; with the CPU factory below, onnxruntime's deterministic CPU EP.
 */
export const REFERENCE_SETTINGS: RunnerSettingsChoice = Object.freeze({ threads: 1, optLevel: "all" });

export function isReferenceSettings(s: RunnerSettingsChoice): boolean {
  return s.threads === REFERENCE_SETTINGS.threads && s.optLevel === REFERENCE_SETTINGS.optLevel;
}

/**
 * A juror's two runs (V9.1): the reference first, whatever the operator configured; then the
 * operator's second setting, or its first when the second is the reference (both reference: the
 * reference twice, whose runs agree bit for bit, so the rule reduces to the plain tolerance check).
 */
export function jurorSettings(configured: readonly [RunnerSettingsChoice, RunnerSettingsChoice]): readonly [RunnerSettingsChoice, RunnerSettingsChoice] {
  const other = isReferenceSettings(configured[1]) ? configured[0] : configured[1];
  return [REFERENCE_SETTINGS, other];
}

export interface StepRunnerHandle extends StepExecutor {
  dispose(): Promise<void>;
}

export type RunnerFactory = (graph: Uint8Array, settings: RunnerSettingsChoice, budget: StepBudget) => Promise<StepRunnerHandle>;

/** What a runner is opened for: the job's graph and its step budget (JobSpec has both). */
export interface RunnableJob {
  readonly graph: Uint8Array;
  readonly stepBudget: StepBudget;
}

/** onnxruntime-node on the CPU in a killable child process; validates the graph before loading it. */
export const onnxRunnerFactory: RunnerFactory = (graph, settings, budget) =>
  ProcessStepRunner.create({ graph, threads: settings.threads, optLevel: settings.optLevel, budget });

/** Run `fn` with a runner and always dispose it. */
export async function withRunner<T>(factory: RunnerFactory, job: RunnableJob, settings: RunnerSettingsChoice, fn: (r: StepExecutor) => Promise<T>): Promise<T> {
  const runner = await factory(job.graph, settings, job.stepBudget);
  try {
    return await fn(runner);
  } finally {
    await runner.dispose();
  }
}
