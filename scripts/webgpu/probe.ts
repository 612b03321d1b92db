/**
 * WebGPU probe (issue 19): opens a WebGPU session for a tiny 4-8-3 Adam step graph, runs one
 * step, and compares it with the CPU EP. Prints one JSON line and exits 0 when WebGPU ran the step,
 * 1 otherwise. Used by scripts/setup-webgpu.sh to check the installation, and importable by tests.
 *
 *   TS_NODE_TRANSPILE_ONLY=1 npx ts-node scripts/webgpu/probe.ts
 */
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../verifier/engine/onnx";
import { StepRunner, epFailureReason } from "../../verifier/engine/runner";
import type { TensorMap } from "../../verifier/engine/tensor";

const SPEC: ModelSpec = { layers: [4, 8, 3], activation: "relu", optimizer: "adam" };

export interface WebGpuProbeResult {
  readonly ok: boolean;
  /** Seconds to open the WebGPU session (Dawn + Vulkan start-up). */
  readonly openSeconds?: number;
  /** Largest absolute difference between the WebGPU and CPU next states. */
  readonly maxAbsDiffVsCpu?: number;
  readonly reason?: string;
}

async function probeWebGpu(): Promise<WebGpuProbeResult> {
  const graph = buildStepGraph(SPEC);
  const state = initState(SPEC, "probe");
  const x = new Float32Array(16 * 4).map((_, i) => ((i * 37) % 11) / 11);
  const y = new BigInt64Array(16).map((_, i) => BigInt(i % 3));
  const batch: TensorMap = new Map([
    ["x", { dtype: "F32", shape: [16, 4], data: x }],
    ["y", { dtype: "I64", shape: [16], data: y }],
  ]);
  const hp = defaultHyperparameters(SPEC);
  const t0 = Date.now();
  let gpu: StepRunner;
  try {
    gpu = await StepRunner.create({ graph, ep: "webgpu" });
  } catch (e) {
    const d = (e as { details?: { reason?: string } }).details;
    return { ok: false, reason: d?.reason ?? epFailureReason(e) };
  }
  const openSeconds = (Date.now() - t0) / 1000;
  const cpu = await StepRunner.create({ graph, ep: "cpu" });
  try {
    const a = await gpu.step(state, batch, hp);
    const b = await cpu.step(state, batch, hp);
    let max = 0;
    for (const [name, t] of a.next) {
      const u = b.next.get(name)!.data;
      const v = t.data;
      for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(Number(v[i]!) - Number(u[i]!)));
    }
    if (!Number.isFinite(max) || max > 1e-3)
      return { ok: false, openSeconds, maxAbsDiffVsCpu: max, reason: "WebGPU step differs from the CPU step by more than 1e-3" };
    return { ok: true, openSeconds, maxAbsDiffVsCpu: max };
  } catch (e) {
    return { ok: false, openSeconds, reason: epFailureReason(e) };
  } finally {
    await gpu.dispose();
    await cpu.dispose();
  }
}

if (require.main === module) {
  probeWebGpu().then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(r.ok ? 0 : 1);
    },
    (e) => {
      process.stdout.write(`${JSON.stringify({ ok: false, reason: String(e) })}\n`);
      process.exit(1);
    },
  );
}
