/**
 * Shared helpers of the benchmark suites: timing, statistics, the MNIST MLP set-up every engine
 * suite trains on, and the result record each suite returns. Not a test helper: everything here
 * runs the real engine.
 */
import { buildStepGraph, defaultHyperparameters, estimateFlops, initState, type ModelSpec } from "../../verifier/engine/onnx";
import { batchOrder, batchTensors, loadMnistDigits, mnistSplit, MNIST_TEST_SIZE } from "../../verifier/engine/data";
import { StepRunner, type GraphOptimizationLevel } from "../../verifier/engine/runner";
import type { BatchSource } from "../../verifier/engine/step";
import type { TensorMap } from "../../verifier/engine/tensor";
import type { Hash } from "../../verifier/protocol/hashing";

/** Every suite gets these and returns a `SuiteResult`. */
export interface SuiteContext {
  readonly quick: boolean;
  /** Results of suites that already ran in this invocation (detection feeds economics). */
  readonly earlier: ReadonlyMap<string, SuiteResult>;
  log(msg: string): void;
}

export interface SuiteResult {
  readonly name: string;
  readonly title: string;
  /** Settings the numbers were measured with (model, batch, steps, seeds, ...). */
  readonly settings: Record<string, unknown>;
  /** Machine-readable rows. */
  readonly rows: readonly Record<string, unknown>[];
  /** Markdown table(s) and remarks for bench/results/README.md. */
  readonly markdown: string;
  readonly seconds?: number;
}

export const SEED: Hash = `0x${"5e".repeat(32)}`;

export function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Runs `fn` repeatedly for at least `minSeconds` and `minReps` times (after `warmup` calls); seconds per call. */
export async function timeLoop(
  fn: () => Promise<unknown> | unknown,
  opts: { minSeconds: number; minReps: number; maxReps?: number; warmup?: number },
): Promise<{ perCall: number; reps: number }> {
  for (let i = 0; i < (opts.warmup ?? 1); i++) await fn();
  const t0 = now();
  let reps = 0;
  while (reps < opts.minReps || (now() - t0 < opts.minSeconds && reps < (opts.maxReps ?? Infinity))) {
    await fn();
    reps++;
  }
  return { perCall: (now() - t0) / reps, reps };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

export function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

/** A markdown table from a header and rows of cells. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string => `| ${cells.map(String).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export interface MlpSetup {
  readonly spec: ModelSpec;
  readonly batchSize: number;
  readonly graph: Uint8Array;
  readonly initial: TensorMap;
  readonly hp: Record<string, number>;
  readonly batches: BatchSource;
  readonly numBatches: number;
  readonly flopsPerStep: number;
  readonly stateBytes: number;
}

/** An MNIST MLP job: graph, seeded initial state, default hyperparameters, batches in the manifest's batch order. */
export function mlpSetup(layers: readonly number[], batchSize: number, optimizer: ModelSpec["optimizer"] = "adam"): MlpSetup {
  const spec: ModelSpec = { layers: [...layers], activation: "relu", optimizer };
  const graph = buildStepGraph(spec);
  const digits = loadMnistDigits();
  const { train } = mnistSplit(SEED, digits.count, MNIST_TEST_SIZE);
  const numBatches = Math.floor(train.length / batchSize);
  const cache = new Map<number, TensorMap>();
  const batches: BatchSource = (t) => {
    const b = batchOrder(SEED, numBatches, t);
    let m = cache.get(b);
    if (m === undefined) {
      m = batchTensors(digits, train.subarray(b * batchSize, (b + 1) * batchSize));
      cache.set(b, m);
    }
    return m;
  };
  const cost = estimateFlops(graph, { x: [batchSize, 784], y: [batchSize] });
  return {
    spec,
    batchSize,
    graph,
    initial: initState(spec, SEED),
    hp: defaultHyperparameters(spec),
    batches,
    numBatches,
    flopsPerStep: cost.flops,
    stateBytes: cost.stateBytes,
  };
}

export function runner(graph: Uint8Array, threads = 1, optLevel: GraphOptimizationLevel = "all"): Promise<StepRunner> {
  return StepRunner.create({ graph, threads, optLevel });
}

export function layersLabel(layers: readonly number[]): string {
  return layers.join("-");
}
