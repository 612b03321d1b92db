/**
 * Training-step speed of the MNIST MLP (784-128-10, Adam) on onnxruntime-node CPU: steps/s and GFLOP/s
 * at batch 64 and 256, and the overhead of encoding + hashing every step's state. Not a test.
 *   npx ts-node --transpile-only bench/engine-speed.ts [steps=200] [threads=1]
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { train } from "../verifier/engine/trainer";
import { buildMnistDataset } from "../verifier/engine/data";
import { buildStepGraph, defaultHyperparameters, estimateFlops, initState, type ModelSpec } from "../verifier/engine/onnx";
import { StepRunner } from "../verifier/engine/runner";
import { encodeState, hashStateBytes } from "../verifier/engine/step";
import type { TensorMap } from "../verifier/engine/tensor";

const SPEC: ModelSpec = { layers: [784, 128, 10], activation: "relu", optimizer: "adam" };

async function main(): Promise<void> {
  const steps = Number(process.argv[2] ?? 200);
  const threads = Number(process.argv[3] ?? 1);
  const graph = buildStepGraph(SPEC);
  const hp = defaultHyperparameters(SPEC);
  console.log(`MLP ${SPEC.layers.join("-")} adam, ${steps} steps, intra-op threads ${threads}, node ${process.version}`);
  for (const batchSize of [64, 256]) {
    const ds = buildMnistDataset({ seed: `0x${"11".repeat(32)}`, batchSize, testSize: 100, maxBatches: 16 });
    const { readSafetensors } = await import("../verifier/engine/safetensors");
    const batches: TensorMap[] = ds.batches.map((b) => readSafetensors(b));
    const cost = estimateFlops(graph, { x: [batchSize, 784], y: [batchSize] });
    const runner = await StepRunner.create({ graph, threads });
    let state = initState(SPEC, "bench");
    for (let t = 0; t < 5; t++) state = (await runner.step(state, batches[t % batches.length]!, hp)).next; // warm-up
    let t0 = process.hrtime.bigint();
    for (let t = 0; t < steps; t++) state = (await runner.step(state, batches[t % batches.length]!, hp)).next;
    const stepS = Number(process.hrtime.bigint() - t0) / 1e9;
    t0 = process.hrtime.bigint();
    let bytes = 0;
    for (let t = 0; t < steps; t++) {
      state = (await runner.step(state, batches[t % batches.length]!, hp)).next;
      const enc = encodeState(state);
      bytes = enc.length;
      hashStateBytes(enc);
    }
    const hashedS = Number(process.hrtime.bigint() - t0) / 1e9;
    // The trainer overlaps encode+hash of state t with step t+1 (and writes a checkpoint every 50 steps).
    const dir = await mkdtemp(path.join(os.tmpdir(), "upow-bench-"));
    const kk = 50;
    const T = Math.max(kk, Math.floor(steps / kk) * kk);
    t0 = process.hrtime.bigint();
    await train({ runner, initialState: state, batches: (t) => batches[t % batches.length]!, hp, T, k: kk, dir, selfCheck: false });
    const trainS = Number(process.hrtime.bigint() - t0) / 1e9;
    await rm(dir, { recursive: true, force: true });
    await runner.dispose();
    const sps = steps / stepS;
    console.log(
      `batch ${String(batchSize).padStart(3)}: ${sps.toFixed(1).padStart(7)} steps/s  ` +
        `${((cost.flops * sps) / 1e9).toFixed(2).padStart(6)} GFLOP/s (${(cost.flops / 1e6).toFixed(1)} MFLOP/step)  ` +
        `with encode+hash of every state (${(bytes / 1e6).toFixed(2)} MB): ${(steps / hashedS).toFixed(1)} steps/s ` +
        `(+${(((hashedS - stepS) / stepS) * 100).toFixed(1)}%); ` +
        `train(): ${(T / trainS).toFixed(1)} steps/s`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
