/**
 * How the checks get a step executor: a factory the service wires to onnxruntime in a child process
 * (ProcessStepRunner), so the checks only know the small StepExecutor interface and the daemon's
 * event loop never runs a step (v3 V8.3). Two settings exist because a juror runs the step twice
 * under different settings (§10.4). Every runner is opened with the job's step budget.
 */
import type { ExecutionProviderName, GraphOptimizationLevel } from "../../engine/runner";
import type { StepExecutor } from "../../engine/step";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../engine/onnx";
import type { TensorMap } from "../../engine/tensor";
import { ProcessStepRunner, type StepBudget } from "../../engine/processRunner";

export interface RunnerSettingsChoice {
  threads: number;
  optLevel: GraphOptimizationLevel;
  /** @default "cpu" */
  ep?: ExecutionProviderName;
}

/**
 * The reference setting of v3 V9.1 (and of `upow calibrate`): one intra-op thread, all graph
 * optimisations; with the CPU factory below, onnxruntime's deterministic CPU EP.
 */
export const REFERENCE_SETTINGS: RunnerSettingsChoice = Object.freeze({ threads: 1, optLevel: "all" });

export function isReferenceSettings(s: RunnerSettingsChoice): boolean {
  return (s.ep ?? "cpu") === "cpu" && s.threads === REFERENCE_SETTINGS.threads && s.optLevel === REFERENCE_SETTINGS.optLevel;
}

/**
 * A verifier's settings pair: the reference (audits and searches run it too) and the juror's other
 * run — 2 CPU threads with basic optimisation, or another EP's kernels (`--juror-ep`), whose
 * disagreement with the reference is the cross-implementation noise of the step being judged.
 */
export function verifierSettings(jurorEp: ExecutionProviderName = "cpu"): readonly [RunnerSettingsChoice, RunnerSettingsChoice] {
  const other: RunnerSettingsChoice = jurorEp === "cpu" ? { threads: 2, optLevel: "basic" } : { ep: jurorEp, threads: 1, optLevel: "all" };
  return [REFERENCE_SETTINGS, other];
}

/**
 * A juror's two runs (V9.1): the reference first, whatever the operator configured; then the
 * operator's second setting, or its first when the second is the reference (both reference: the
 * reference twice, whose runs agree bit for bit, so the rule reduces to the plain tolerance check).
 */
export function jurorSettings(
  configured: readonly [RunnerSettingsChoice, RunnerSettingsChoice],
): readonly [RunnerSettingsChoice, RunnerSettingsChoice] {
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
  ProcessStepRunner.create({ graph, ep: settings.ep ?? "cpu", threads: settings.threads, optLevel: settings.optLevel, budget });

/**
 * Opens and steps a two-parameter graph on every setting that needs an EP besides the CPU, so a
 * juror whose other run needs an EP this machine lacks stops at start-up with the EP's reason and
 * hint, instead of voting Indeterminate on every step it is asked to judge. CPU settings always
 * open: they cost no start-up process.
 */
export async function probeSettings(factory: RunnerFactory, settings: readonly RunnerSettingsChoice[]): Promise<void> {
  const other = settings.filter((x) => (x.ep ?? "cpu") !== "cpu");
  if (other.length === 0) return;
  const spec: ModelSpec = { layers: [2, 2], activation: "relu", optimizer: "sgd" };
  const graph = buildStepGraph(spec);
  const batch: TensorMap = new Map([
    ["x", { dtype: "F32", shape: [1, 2], data: new Float32Array([1, -1]) }],
    ["y", { dtype: "I64", shape: [1], data: new BigInt64Array([1n]) }],
  ]);
  for (const s of other) {
    await withRunner(factory, { graph, stepBudget: { flopsPerStep: 1_000n } }, s, (r) =>
      r.step(initState(spec, `0x${"00".repeat(32)}`), batch, defaultHyperparameters(spec)),
    );
  }
}

/** Run `fn` with a runner and always dispose it. */
export async function withRunner<T>(
  factory: RunnerFactory,
  job: RunnableJob,
  settings: RunnerSettingsChoice,
  fn: (r: StepExecutor) => Promise<T>,
): Promise<T> {
  const runner = await factory(job.graph, settings, job.stepBudget);
  try {
    return await fn(runner);
  } finally {
    await runner.dispose();
  }
}
