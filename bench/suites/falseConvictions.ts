/**
 * §5 False convictions: honest single steps re-executed under every pair of the execution settings
 * available here (threads 1 vs 2 × optimisation level disabled vs all; WebGPU at both optimisation levels
 * where it works, e.g. on Mesa's lavapipe after scripts/setup-webgpu.sh: CPU↔WebGPU pairs), each
 * pair judged by the real §10.3 rule with the δ_upd/δ_ulp floors. Reports, per pair, the distribution
 * of the worst per-tensor ratio distance/bound (a conviction needs a ratio > 1; > 0.5 is counted as the margin's early warning) and where the worst one lies.
 */
import { DEFAULT_FLOORS } from "../../verifier/engine/calibrate";
import { StepRunner } from "../../verifier/engine/runner";
import type { TensorMap } from "../../verifier/engine/tensor";
import { compareStates } from "../../verifier/engine/tolerance";
import { webgpuAdapterKind } from "../lib/webgpu";
import { type SuiteContext, type SuiteResult, fmt, layersLabel, mlpSetup, now, percentile, table } from "../lib/common";

interface Setting {
  label: string;
  runner: StepRunner;
}

export async function runFalseConvictions(ctx: SuiteContext): Promise<SuiteResult> {
  // 784-128-10 at batch 64: large enough that thread counts and graph optimisations change the float
  // results (a smaller MLP is bit-identical across all these settings, which would prove nothing).
  const layers = [784, 128, 10];
  const batch = 64;
  const steps = ctx.quick ? 1000 : 10_000;
  const bounds = { deltaUpd: DEFAULT_FLOORS.deltaUpd, deltaUlp: DEFAULT_FLOORS.deltaUlp };
  const setup = mlpSetup(layers, batch);
  const settings: Setting[] = [];
  for (const threads of [1, 2]) {
    for (const optLevel of ["all", "disabled"] as const) {
      settings.push({ label: `cpu/t${threads}/${optLevel}`, runner: await StepRunner.create({ graph: setup.graph, threads, optLevel }) });
    }
  }
  let gpuNote =
    "WebGPU: not available on this machine (no adapter; scripts/setup-webgpu.sh installs Mesa's lavapipe), so no CPU↔WebGPU pairs.";
  const adapter = webgpuAdapterKind();
  try {
    for (const optLevel of ["all", "disabled"] as const) {
      settings.push({ label: `webgpu/${optLevel}`, runner: await StepRunner.create({ graph: setup.graph, ep: "webgpu", optLevel }) });
    }
    gpuNote = [
      `WebGPU works here on **${adapter}**: its pairs with every CPU setting are included (${steps} honest steps per pair).`,
      adapter.startsWith("software")
        ? "These are onnxruntime's WebGPU kernels (WGSL shaders compiled by Dawn) run by Mesa's software rasteriser on the CPU: a second, independent kernel implementation, not GPU hardware numerics (docs/gpu.md)."
        : "",
    ]
      .filter(Boolean)
      .join(" ");
  } catch {
    // no adapter: CPU pairs only
  }
  const pairs: [number, number][] = [];
  for (let a = 0; a < settings.length; a++) for (let b = a + 1; b < settings.length; b++) pairs.push([a, b]);
  const ratios: number[][] = pairs.map(() => []);
  const identical = pairs.map(() => 0);
  // Where each pair's worst honest step lies (tensor, step): what a tolerance revisit needs to know.
  const worst = pairs.map(() => ({ ratio: 0, tensor: null as string | null, step: -1 }));
  let state: TensorMap = setup.initial;
  const t0 = now();
  for (let t = 0; t < steps; t++) {
    const b = await setup.batches(t);
    const outs: TensorMap[] = [];
    for (const s of settings) outs.push((await s.runner.step(state, b, setup.hp)).next);
    // Bit-identical results compare at ratio 0; compare each distinct pair of results once.
    const repOf = outs.map((o, x) => outs.findIndex((y, z) => z <= x && sameBits(o, y)));
    const cache = new Map<string, { ratio: number; tensor: string | null }>();
    pairs.forEach(([p, q], i) => {
      const [rp, rq] = [repOf[p]!, repOf[q]!];
      if (rp === rq) {
        ratios[i]!.push(0);
        identical[i]!++;
        return;
      }
      // a = setting p's result as the juror's recomputation, b = setting q's as the (honest) worker's claim.
      const key = `${rp}:${rq}`;
      let found = cache.get(key);
      if (found === undefined) {
        const r = compareStates(state, outs[rp]!, outs[rq]!, bounds);
        found = { ratio: r.worstRatio, tensor: r.worstTensor };
        cache.set(key, found);
      }
      ratios[i]!.push(found.ratio);
      if (found.ratio > worst[i]!.ratio) worst[i] = { ...found, step: t };
    });
    state = outs[0]!; // the trajectory follows the reference setting
    if ((t + 1) % Math.max(1, Math.floor(steps / 5)) === 0) ctx.log(`false-convictions: ${t + 1}/${steps} steps (${fmt(now() - t0)} s)`);
  }
  for (const s of settings) await s.runner.dispose();
  const rows = pairs.map(([p, q], i) => {
    const sorted = [...ratios[i]!].sort((x, y) => x - y);
    return {
      pair: `${settings[p]!.label} vs ${settings[q]!.label}`,
      steps,
      webgpu: settings[p]!.label.startsWith("webgpu") || settings[q]!.label.startsWith("webgpu"),
      maxRatio: sorted[sorted.length - 1]!,
      p9999Ratio: percentile(sorted, 99.99),
      p99Ratio: percentile(sorted, 99),
      medianRatio: percentile(sorted, 50),
      convictions: sorted.filter((r) => r > 1).length,
      indeterminate: sorted.filter((r) => r > 0.5).length,
      bitIdentical: identical[i]!,
      worstTensor: worst[i]!.tensor,
      worstStep: worst[i]!.step,
    };
  });
  const md = [
    table(
      [
        "pair of settings",
        "honest steps",
        "bit-identical",
        "median ratio",
        "99th pct",
        "99.99th pct",
        "max ratio",
        "worst at (tensor, step)",
        "ratio > 0.5",
        "ratio > 1 (false conviction)",
      ],
      rows.map((r) => [
        r.pair,
        r.steps,
        r.bitIdentical,
        fmt(r.medianRatio),
        fmt(r.p99Ratio),
        fmt(r.p9999Ratio),
        fmt(r.maxRatio),
        r.worstTensor === null ? "–" : `${r.worstTensor}, ${r.worstStep}`,
        r.indeterminate,
        `**${r.convictions}**`,
      ]),
    ),
    "",
    `Model ${layersLabel(layers)} (Adam), batch ${batch}, ${steps} consecutive honest steps of one MNIST trajectory; at every step all`,
    `${settings.length} settings run the same S_t and every pair is compared with \`compareStates\` at δ_upd = ${bounds.deltaUpd}, δ_ulp = ${bounds.deltaUlp}`,
    "(the governance floors); the ratio is the worst tensor's distance / bound. A false conviction would need a ratio > 1.",
    "Bit-identical results count as ratio 0 without running the comparison (that is what it returns); distinct pairs run `compareStates`.",
    gpuNote,
  ].join("\n");
  return {
    name: "false-convictions",
    title: "5. False convictions of honest steps",
    rows,
    settings: {
      layers,
      batch,
      steps,
      bounds,
      settings: settings.map((s) => s.label),
      webgpuAdapter: settings.some((s) => s.label.startsWith("webgpu")) ? adapter : null,
    },
    markdown: md,
  };
}

function sameBits(a: TensorMap, b: TensorMap): boolean {
  for (const [name, t] of a) {
    const u = b.get(name);
    if (u === undefined) return false;
    const x = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const y = Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength);
    if (!x.equals(y)) return false;
  }
  return a.size === b.size;
}
