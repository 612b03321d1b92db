/**
 * How the checks get a step executor: a factory the service wires to onnxruntime (StepRunner),
 * so the checks only know the small StepExecutor interface. Two settings exist because a juror
 * runs the step twice under different settings (§10.4).
 */
import { StepRunner, type GraphOptimizationLevel } from "../../engine/runner";
import type { StepExecutor } from "../../engine/step";

export interface RunnerSettingsChoice {
  threads: number;
  optLevel: GraphOptimizationLevel;
}

export interface StepRunnerHandle extends StepExecutor {
  dispose(): Promise<void>;
}

export type RunnerFactory = (graph: Uint8Array, settings: RunnerSettingsChoice) => Promise<StepRunnerHandle>;

/** onnxruntime-node on the CPU; validates the graph (op allow-list, limits) before loading it. */
export const onnxRunnerFactory: RunnerFactory = (graph, settings) =>
  StepRunner.create({ graph, threads: settings.threads, optLevel: settings.optLevel });

/** Run `fn` with a runner and always dispose it. */
export async function withRunner<T>(factory: RunnerFactory, graph: Uint8Array, settings: RunnerSettingsChoice, fn: (r: StepExecutor) => Promise<T>): Promise<T> {
  const runner = await factory(graph, settings);
  try {
    return await fn(runner);
  } finally {
    await runner.dispose();
  }
}
