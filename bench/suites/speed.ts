/**
 * §1 Engine speed: steps/s and GFLOP/s of the MNIST MLP step (784-128-10 and a wider MLP, Adam) at
 * batch 64 and 256 through the real StepRunner, against this machine's measured fp32 peak: a large
 * MatMul through onnxruntime in the same run (same threads), so the fraction of peak is same-run.
 * Every other EP that works here gets rows too; WebGPU on Mesa's lavapipe (scripts/setup-webgpu.sh)
 * is marked "software Vulkan": it runs on the CPU, so its rate says nothing about GPU speed.
 */
import * as ort from "onnxruntime-node";
import { ElemType, GraphBuilder, encodeModel } from "../../verifier/engine/onnx/proto";
import { StepRunner } from "../../verifier/engine/runner";
import { webgpuAdapterKind } from "../lib/webgpu";
import { type SuiteContext, type SuiteResult, fmt, layersLabel, mlpSetup, now, pct, table, timeLoop } from "../lib/common";

/** A one-node MatMul graph `[n,n] x [n,n]` (2n³ FLOPs). */
function matmulGraph(n: number): Uint8Array {
  const g = new GraphBuilder();
  const a = g.input("a", ElemType.FLOAT, [n, n]);
  const b = g.input("b", ElemType.FLOAT, [n, n]);
  g.op("MatMul", [a, b], [], "c");
  g.output("c", ElemType.FLOAT, [n, n]);
  return encodeModel(g.graph("matmul"));
}

export async function matmulPeak(n: number, threads: number, minSeconds: number): Promise<number> {
  const session = await ort.InferenceSession.create(matmulGraph(n), {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
  const data = new Float32Array(n * n);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const feeds = { a: new ort.Tensor("float32", data, [n, n]), b: new ort.Tensor("float32", data, [n, n]) };
  // Peak = best call: what the machine can do when the shared cores are free for a moment.
  await session.run(feeds);
  let best = Infinity;
  const t0 = now();
  for (let reps = 0; reps < 3 || now() - t0 < minSeconds; reps++) {
    const c0 = now();
    await session.run(feeds);
    best = Math.min(best, now() - c0);
  }
  await session.release();
  return (2 * n ** 3) / best / 1e9;
}

/** Execution providers other than cpu that this build lists; each is tried, and only working ones get rows. */
async function otherEps(graph: Uint8Array): Promise<{ ep: string; works: boolean; reason?: string }[]> {
  const out: { ep: string; works: boolean; reason?: string }[] = [];
  for (const b of ort.listSupportedBackends()) {
    if (b.name === "cpu") continue;
    if (b.name !== "webgpu" && b.name !== "cuda") {
      out.push({ ep: b.name, works: false, reason: "not an EP the runner supports" });
      continue;
    }
    try {
      const r = await StepRunner.create({ graph, ep: b.name });
      await r.dispose();
      out.push({ ep: b.name, works: true });
    } catch (e) {
      out.push({ ep: b.name, works: false, reason: (e instanceof Error ? e.message.split("\n")[0]! : String(e)).slice(0, 80) });
    }
  }
  return out;
}

export async function runSpeed(ctx: SuiteContext): Promise<SuiteResult> {
  const minSeconds = ctx.quick ? 1 : 4;
  const peakN = ctx.quick ? 1024 : 2048;
  const models: { layers: number[]; batches: number[] }[] = [
    { layers: [784, 128, 10], batches: [64, 256] },
    { layers: [784, 1024, 1024, 10], batches: [64, 256] },
  ];
  const threadsList = [1, 2];
  const peaks = new Map<number, number>();
  for (const threads of threadsList) {
    ctx.log(`speed: fp32 peak, MatMul ${peakN}³, threads=${threads}`);
    peaks.set(threads, await matmulPeak(peakN, threads, minSeconds));
  }
  const eps = await otherEps(mlpSetup([784, 128, 10], 64).graph);
  const working = eps.filter((e) => e.works).map((e) => e.ep as "webgpu" | "cuda");
  const adapter = webgpuAdapterKind();
  const rows: Record<string, unknown>[] = [];
  for (const m of models) {
    for (const batch of m.batches) {
      const setup = mlpSetup(m.layers, batch);
      const b = await setup.batches(0);
      for (const threads of threadsList) {
        const r = await StepRunner.create({ graph: setup.graph, threads });
        let state = setup.initial;
        const { perCall, reps } = await timeLoop(
          async () => {
            state = (await r.step(state, b, setup.hp)).next;
          },
          { minSeconds, minReps: 5, warmup: 2 },
        );
        await r.dispose();
        const gflops = setup.flopsPerStep / perCall / 1e9;
        const peak = Math.max(...peaks.values());
        rows.push({
          model: layersLabel(m.layers),
          optimizer: "adam",
          batch,
          ep: "cpu",
          threads,
          stepsPerSecond: 1 / perCall,
          msPerStep: perCall * 1e3,
          flopsPerStep: setup.flopsPerStep,
          gflops,
          peakGflops: peak,
          fractionOfPeak: gflops / peak,
          reps,
        });
        ctx.log(`speed: ${layersLabel(m.layers)} b${batch} t${threads}: ${fmt(1 / perCall)} steps/s, ${fmt(gflops)} GFLOP/s`);
      }
      for (const ep of working) {
        const r = await StepRunner.create({ graph: setup.graph, ep });
        let state = setup.initial;
        const { perCall, reps } = await timeLoop(
          async () => {
            state = (await r.step(state, b, setup.hp)).next;
          },
          { minSeconds, minReps: 3, warmup: 2 },
        );
        await r.dispose();
        const gflops = setup.flopsPerStep / perCall / 1e9;
        const label = ep === "webgpu" ? `webgpu (${adapter})` : ep;
        // threads: the EP's own (Dawn/lavapipe or the GPU); the fraction of the CPU MatMul peak only means something for a CPU rasteriser.
        rows.push({
          model: layersLabel(m.layers),
          optimizer: "adam",
          batch,
          ep: label,
          threads: null,
          stepsPerSecond: 1 / perCall,
          msPerStep: perCall * 1e3,
          flopsPerStep: setup.flopsPerStep,
          gflops,
          peakGflops: Math.max(...peaks.values()),
          fractionOfPeak: gflops / Math.max(...peaks.values()),
          reps,
        });
        ctx.log(`speed: ${layersLabel(m.layers)} b${batch} ${label}: ${fmt(1 / perCall)} steps/s, ${fmt(gflops)} GFLOP/s`);
      }
    }
  }
  const peakRows = threadsList.map((t) => ({ kind: "peak", op: `MatMul ${peakN}x${peakN}x${peakN}`, threads: t, gflops: peaks.get(t)! }));
  const md = [
    table(
      ["model (Adam)", "batch", "EP", "threads", "steps/s", "ms/step", "GFLOP/step", "GFLOP/s", "fraction of peak"],
      rows.map((r) => [
        r.model as string,
        r.batch as number,
        r.ep as string,
        r.threads === null ? "–" : (r.threads as number),
        fmt(r.stepsPerSecond as number),
        fmt(r.msPerStep as number),
        fmt((r.flopsPerStep as number) / 1e9),
        fmt(r.gflops as number),
        pct(r.fractionOfPeak as number),
      ]),
    ),
    "",
    `Peak (same run, best call): ${peakRows.map((p) => `${p.op} through onnxruntime, threads=${p.threads}: ${fmt(p.gflops)} GFLOP/s`).join("; ")}; fraction of peak is against the larger, **${fmt(Math.max(...peaks.values()))} GFLOP/s**. Step rates are means over ≥ ${minSeconds} s per cell.`,
    `FLOPs per step from the engine's \`estimateFlops\` (shape inference over the step graph).`,
    eps.length === 0
      ? "GPU: none. This onnxruntime-node build lists only the cpu EP, so there are no GPU rows."
      : `Other EPs: ${eps.map((e) => `${e.ep}: ${e.works ? "works" : `unavailable (${e.reason})`}`).join("; ")}. Rows appear only for EPs that work.`,
    ...(working.includes("webgpu") && adapter.startsWith("software")
      ? [
          "WebGPU rows marked **software Vulkan** run onnxruntime's WebGPU kernels on Mesa's lavapipe, i.e. on this machine's CPU through a software rasteriser (threads chosen by lavapipe, not by the runner): they measure that path's overhead, not any GPU's speed (docs/gpu.md).",
        ]
      : []),
  ].join("\n");
  return {
    name: "engine-speed",
    title: "1. Engine speed",
    rows: [...rows, ...peakRows],
    settings: {
      minSecondsPerCell: minSeconds,
      peakMatMul: peakN,
      threads: threadsList,
      otherEps: eps,
      webgpuAdapter: working.includes("webgpu") ? adapter : null,
      deterministicCompute: true,
    },
    markdown: md,
  };
}
