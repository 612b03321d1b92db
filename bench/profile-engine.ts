/**
 * Where a training step's time goes (issue 18): onnxruntime's own profiler (time per op type of the
 * step graph) and the phases of a committed step around it (ORT run, output copy, canonical encoding,
 * state hash, checkpoint write with fsync). Not a test; numbers go into bench/results (issue 18).
 *   npx ts-node --transpile-only bench/profile-engine.ts [784,1024,1024,10] [256] [steps=20]
 */
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { CheckpointStore } from "../verifier/engine/checkpoints";
import { encodeState, hashStateBytes } from "../verifier/engine/step";
import { StepRunner } from "../verifier/engine/runner";
import type { TensorMap } from "../verifier/engine/tensor";
import { fmt, mlpSetup, now } from "./lib/common";

interface ProfileEvent {
  readonly cat: string;
  readonly name: string;
  readonly dur: number;
  readonly args?: { readonly op_name?: string };
}

/** Microseconds per op type per run, from ORT's chrome-trace profile of `steps` runs. */
async function opProfile(
  graph: Uint8Array,
  state: TensorMap,
  batch: TensorMap,
  hp: Record<string, number>,
  steps: number,
): Promise<[string, number][]> {
  const prefix = path.join(os.tmpdir(), `upow-ortprof-${process.pid}`);
  const session = await ort.InferenceSession.create(graph, {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
    enableProfiling: true,
    profileFilePrefix: prefix,
    extra: { session: { use_deterministic_compute: "1" } },
  });
  const feeds: Record<string, ort.Tensor> = {};
  const typed = (d: unknown): ort.Tensor.Type => (d instanceof BigInt64Array ? "int64" : "float32");
  for (const [n, t] of state) feeds[`state.${n}`] = new ort.Tensor(typed(t.data), t.data as Float32Array, [...t.shape]);
  for (const [n, t] of batch) feeds[`batch.${n}`] = new ort.Tensor(typed(t.data), t.data as Float32Array, [...t.shape]);
  for (const [n, v] of Object.entries(hp)) feeds[`hp.${n}`] = new ort.Tensor("float32", Float32Array.of(v), []);
  for (let i = 0; i < steps; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  // The node binding returns no file name: ORT writes <prefix>_<timestamp>.json.
  const file = readdirSync(os.tmpdir())
    .map((f) => path.join(os.tmpdir(), f))
    .find((f) => f.startsWith(`${prefix}_`) && f.endsWith(".json"));
  if (file === undefined) throw new Error(`onnxruntime wrote no profile at ${prefix}_*.json`);
  const events = JSON.parse(readFileSync(file, "utf8")) as ProfileEvent[];
  rmSync(file, { force: true });
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat === "Session" && e.name === "model_run") byOp.set("(whole model_run)", (byOp.get("(whole model_run)") ?? 0) + e.dur / steps);
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur / steps);
  }
  return [...byOp.entries()].sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const layers = (process.argv[2] ?? "784,1024,1024,10").split(",").map(Number);
  const batchSize = Number(process.argv[3] ?? 256);
  const steps = Number(process.argv[4] ?? 20);
  const setup = mlpSetup(layers, batchSize);
  const batch = await setup.batches(0);
  const ops = await opProfile(setup.graph, setup.initial, batch, setup.hp, steps);
  const total = ops.reduce((a, [, us]) => a + us, 0);
  console.log(`model ${layers.join("-")} batch ${batchSize}: ORT kernel time ${fmt(total / 1e3)} ms/step over ${steps} steps`);
  for (const [op, us] of ops) console.log(`  ${op.padEnd(14)} ${fmt(us / 1e3).padStart(7)} ms  ${((us / total) * 100).toFixed(1)}%`);

  // Phases of a committed step, timed one by one in this thread.
  const runner = await StepRunner.create({ graph: setup.graph, threads: 1 });
  const dir = await mkdtemp(path.join(os.tmpdir(), "upow-prof-"));
  const store = await CheckpointStore.open(dir);
  const t = { run: 0, encode: 0, hash: 0, checkpoint: 0 };
  let state = setup.initial;
  for (let i = 0; i < 2; i++) state = (await runner.step(state, batch, setup.hp)).next;
  for (let i = 0; i < steps; i++) {
    let c = now();
    state = (await runner.step(state, batch, setup.hp)).next;
    t.run += now() - c;
    c = now();
    const bytes = encodeState(state);
    t.encode += now() - c;
    c = now();
    hashStateBytes(bytes);
    t.hash += now() - c;
    c = now();
    await store.putState(bytes);
    t.checkpoint += now() - c;
  }
  await runner.dispose();
  await rm(dir, { recursive: true, force: true });
  const ms = (s: number): string => fmt((s / steps) * 1e3);
  console.log(
    `phases per step (ms): runner.step ${ms(t.run)} (ORT kernels ${fmt(total / 1e3)}), encode ${ms(t.encode)}, state hash ${ms(t.hash)}, checkpoint file with fsync ${ms(t.checkpoint)}; state ${fmt(setup.stateBytes / 1e6)} MB`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
