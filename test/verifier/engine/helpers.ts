/** A tiny real job for engine tests: a 4-8-3 Adam MLP step graph on onnxruntime, synthetic batches. */
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepRunner } from "../../../verifier/engine/runner";
import type { TensorMap } from "../../../verifier/engine/tensor";
import { main } from "../../../verifier/cli/main";

export const TINY_SPEC: ModelSpec = { layers: [4, 8, 3], activation: "relu", optimizer: "adam" };

/** Deterministic batches of a separable 3-class problem: class = argmax of three fixed projections. */
export function toyBatches(count: number, batchSize: number): TensorMap[] {
  const out: TensorMap[] = [];
  let s = 12345;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (let b = 0; b < count; b++) {
    const x = new Float32Array(batchSize * 4);
    const y = new BigInt64Array(batchSize);
    for (let r = 0; r < batchSize; r++) {
      for (let c = 0; c < 4; c++) x[r * 4 + c] = rnd();
      const v = [x[r * 4]! + x[r * 4 + 1]!, x[r * 4 + 2]! * 2, x[r * 4 + 3]! * 2];
      y[r] = BigInt(v.indexOf(Math.max(...v)));
    }
    out.push(
      new Map([
        ["x", { dtype: "F32", shape: [batchSize, 4], data: x }],
        ["y", { dtype: "I64", shape: [batchSize], data: y }],
      ]),
    );
  }
  return out;
}

/** An MNIST-shaped batch of `B` rows (values do not matter for cost). */
export function wideBatch(B: number, inputs = 784): TensorMap {
  const x = new Float32Array(B * inputs);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000;
  const y = new BigInt64Array(B);
  for (let i = 0; i < B; i++) y[i] = BigInt(i % 10);
  return new Map([
    ["x", { dtype: "F32", shape: [B, inputs], data: x }],
    ["y", { dtype: "I64", shape: [B], data: y }],
  ]);
}

export async function tinyJob(options: { threads?: number; optLevel?: "disabled" | "all" } = {}) {
  const graph = buildStepGraph(TINY_SPEC);
  const runner = await StepRunner.create({ graph, threads: options.threads ?? 1, optLevel: options.optLevel ?? "all" });
  const data = toyBatches(8, 16);
  const hp = { ...defaultHyperparameters(TINY_SPEC), lr: 0.05 };
  return {
    graph,
    params: { runner, initialState: initState(TINY_SPEC, "tiny"), batches: (t: number) => data[t % data.length]!, hp },
  };
}

/** In process (fast): the same main() as bin/upow.js, stdout and the exit code captured. */
export async function cli(cwd: string, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const prevCwd = process.cwd();
  const out: string[] = [];
  const err: string[] = [];
  const wOut = process.stdout.write.bind(process.stdout);
  const wErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => {
    out.push(String(c));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => {
    err.push(String(c));
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = 0;
  process.chdir(cwd);
  try {
    await main(["node", "upow", "-q", ...args]);
  } finally {
    process.chdir(prevCwd);
    process.stdout.write = wOut;
    process.stderr.write = wErr;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout: out.join(""), stderr: err.join(""), code };
}
