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
