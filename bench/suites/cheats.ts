/**
 * In-tolerance cheats (PROTOCOL-v3 V7.4, V7.5): for each numeric worker mode of
 * verifier/worker/numericCheats.ts and two spoofing attacks from the Proof-of-Learning literature,
 * from one honest checkpoint C:
 *   - single step: a juror (cpu/opt=disabled, not the worker's settings) recomputes every step of
 *     the cheating trajectory from the cheater's own S_j and compares with its S_{j+1} by the §10.3
 *     rule at the floors; a committee (jurorVerdict, two juror settings) judges the first step a
 *     bisection would pinpoint (the first with ratio > 1, else the first step);
 *   - k steps: the honest trajectory replayed from C by the verifier settings vs the cheater's, by
 *     compareInterval with the δ_k floors, at every k of CHEATS_KS.
 * And V7.5, the known limit: drift at 0.9× the single-step bound over whole epochs from the initial
 * state, along the worker mode's keyed random direction and along a targeted one (raise one class's
 * logit), measured as test accuracy and the share of the test set predicted as that class.
 *
 * Env knobs: CHEATS_LAYERS (784,128,10), CHEATS_BATCH (64), CHEATS_KS (10,50,100), CHEATS_WARM
 * (honest steps before C, 100; a multiple of every k), CHEATS_EPOCHS (drift epochs, 3). --quick: k = 10, 50, one epoch.
 */
import { DEFAULT_FLOORS } from "../../verifier/engine/calibrate";
import { batchTensors, loadMnistDigits, mnistSplit, MNIST_TEST_SIZE } from "../../verifier/engine/data";
import { evaluateMlp } from "../../verifier/engine/evaluate";
import type { StepExecutor, BatchSource } from "../../verifier/engine/step";
import type { Tensor, TensorMap } from "../../verifier/engine/tensor";
import { compareInterval, compareStates, jurorVerdict, Vote } from "../../verifier/engine/tolerance";
import { applyCheat } from "../../verifier/worker/cheats";
import {
  computeSaved,
  drifted,
  keyedDirection,
  normalise,
  type DriftDirection,
  type NumericCheatMode,
} from "../../verifier/worker/numericCheats";
import { reducedPrecisionGraph } from "../lib/precisionGraph";
import { SEED, type SuiteContext, type SuiteResult, fmt, layersLabel, mlpSetup, pct, runner, table } from "../lib/common";

const BOUNDS = { deltaUpd: DEFAULT_FLOORS.deltaUpd, deltaUlp: DEFAULT_FLOORS.deltaUlp };
const KBOUNDS = { deltaKUpd: DEFAULT_FLOORS.deltaKUpd, deltaKUlp: DEFAULT_FLOORS.deltaKUlp };
const JOB_KEY = "bench-cheats";
/** The class the targeted drift pushes up. */
const TARGET_CLASS = 3;

export interface CheatRow {
  readonly cheat: string;
  readonly source: "worker mode" | "cheat model (graph)" | "spoof (PoL literature)" | "control";
  readonly computeSaved: number;
  readonly computeSavedWhat: string;
  /** Median / max single-step ratio over the steps the cheat acts on. */
  readonly stepRatioMedian: number;
  readonly stepRatioMax: number;
  /** Steps with ratio > 1 / all steps: the chance that one step a V7.2 audit samples flags it. */
  readonly stepsOverBound: number;
  readonly intervalRatio: Readonly<Record<string, number>>;
  readonly flaggedByKStepAudit: Readonly<Record<string, boolean>>;
  readonly committeeStep: number;
  readonly committeeVote: "WorkerFault" | "WorkerHonest" | "Indeterminate";
  readonly extra?: Readonly<Record<string, number>>;
}

interface Trajectory {
  /** S_0 = C, …, S_K. */
  readonly states: readonly TensorMap[];
  /** Steps (0-based from C) on which the cheat acts; null = all. */
  readonly acting: ((j: number) => boolean) | null;
}

export async function runCheats(ctx: SuiteContext): Promise<SuiteResult> {
  const layers = numbers(process.env.CHEATS_LAYERS, [784, 128, 10]);
  const batch = numbers(process.env.CHEATS_BATCH, [64])[0]!;
  const ks = numbers(process.env.CHEATS_KS, ctx.quick ? [10, 50] : [10, 50, 100]);
  const K = Math.max(...ks);
  const warm = numbers(process.env.CHEATS_WARM, [100])[0]!;
  const epochs = numbers(process.env.CHEATS_EPOCHS, [ctx.quick ? 1 : 3])[0]!;
  for (const k of ks) if (warm % k !== 0) throw new Error(`CHEATS_WARM (${warm}) must be a multiple of every k (${k})`);

  const setup = mlpSetup(layers, batch);
  const hp = setup.hp;
  const worker = await runner(setup.graph, 1, "all");
  // Verifier and jurors run other settings than the worker, so honest steps drift a little.
  const verifier = await runner(setup.graph, 2, "disabled");
  const juror2 = await runner(setup.graph, 1, "all");
  const graphCheats = await Promise.all(
    (["fp16", "bf16"] as const).map(async (format) => ({
      format,
      runner: await runner(reducedPrecisionGraph(setup.graph, format), 1, "all"),
    })),
  );
  const job = { key: JOB_KEY, T: warm + K, k: K, bounds: BOUNDS };
  try {
    let C = setup.initial;
    for (let t = 0; t < warm; t++) C = (await worker.step(C, await setup.batches(t), hp)).next;
    const honestRef = await run(verifier, C, warm, K, setup.batches, hp);
    const honestWorker = await run(worker, C, warm, K, setup.batches, hp);
    ctx.log(`cheats: checkpoint C at step ${warm}, reference trajectory of ${K} steps`);

    const rows: CheatRow[] = [];
    const measure = async (
      cheat: string,
      source: CheatRow["source"],
      saved: { fraction: number; what: string },
      tr: Trajectory,
      interval: (k: number) => TensorMap,
      extra?: Record<string, number>,
    ): Promise<void> => {
      const ratios: number[] = [];
      for (let j = 0; j < K && j < tr.states.length - 1; j++) {
        const a = (await verifier.step(tr.states[j]!, await setup.batches(warm + j), hp)).next;
        ratios.push(compareStates(tr.states[j]!, a, tr.states[j + 1]!, BOUNDS).worstRatio);
      }
      const acting = ratios.filter((_, j) => tr.acting === null || tr.acting(j)).sort((a, b) => a - b);
      const first = Math.max(
        0,
        ratios.findIndex((r) => r > 1),
      );
      const s = tr.states[first]!;
      const b = await setup.batches(warm + first);
      const v = jurorVerdict(s, (await verifier.step(s, b, hp)).next, (await juror2.step(s, b, hp)).next, tr.states[first + 1]!, BOUNDS);
      const intervalRatio: Record<string, number> = {};
      const flagged: Record<string, boolean> = {};
      for (const k of ks) {
        const r = compareInterval(C, honestRef[k]!, interval(k), KBOUNDS);
        intervalRatio[k] = r.worstRatio;
        flagged[k] = r.convict;
      }
      rows.push({
        cheat,
        source,
        computeSaved: saved.fraction,
        computeSavedWhat: saved.what,
        stepRatioMedian: acting[Math.floor(acting.length / 2)] ?? 0,
        stepRatioMax: acting[acting.length - 1] ?? 0,
        stepsOverBound: ratios.filter((r) => r > 1).length / ratios.length,
        intervalRatio,
        flaggedByKStepAudit: flagged,
        committeeStep: warm + first,
        committeeVote: v.vote === Vote.WorkerFault ? "WorkerFault" : v.vote === Vote.WorkerHonest ? "WorkerHonest" : "Indeterminate",
        ...(extra ? { extra } : {}),
      });
      ctx.log(
        `cheats: ${cheat}: step ratio median ${fmt(rows.at(-1)!.stepRatioMedian)}, interval ${ks.map((k) => fmt(intervalRatio[k]!)).join("/")}, committee ${rows.at(-1)!.committeeVote}`,
      );
    };

    await measure(
      "honest (control)",
      "control",
      { fraction: 0, what: "–" },
      { states: honestWorker, acting: null },
      (k) => honestWorker[k]!,
    );
    const modes: NumericCheatMode[] = [
      { kind: "precision", format: "fp16" },
      { kind: "precision", format: "bf16" },
      { kind: "precision", format: "tf32" },
      { kind: "partial", keep: 0.875 },
      { kind: "partial", keep: 0.5 },
      { kind: "reuse" },
      { kind: "noupdate" },
      { kind: "drift", multiple: 0.9 },
      { kind: "drift", multiple: 5 },
    ];
    for (const mode of modes) {
      const c = applyCheat(mode, { runner: worker, batches: setup.batches }, job);
      const states = await run(c.runner, C, warm, K, c.batches, hp);
      await measure(
        modeLabel(mode),
        "worker mode",
        computeSaved(mode, K),
        { states, acting: mode.kind === "reuse" ? (j) => j % 2 === 1 : null },
        (k) => states[k]!,
      );
    }

    for (const g of graphCheats) {
      const states = await run(g.runner, C, warm, K, setup.batches, hp);
      const saved = computeSaved({ kind: "precision", format: g.format }, K);
      await measure(
        `${g.format}, every matmul operand (graph rewrite)`,
        "cheat model (graph)",
        saved,
        { states, acting: null },
        (k) => states[k]!,
      );
    }

    // Spoof 1 (Fang et al. 2022, interpolation between checkpoints): the spoofer holds the true end
    // state of the interval (a stolen model) and commits the straight line from C to it.
    const interpolated = (k: number): TensorMap[] => Array.from({ length: k + 1 }, (_, j) => lerp(C, honestWorker[k]!, j / k));
    const lineK = interpolated(K);
    await measure(
      "spoof: interpolate C → stolen end state",
      "spoof (PoL literature)",
      { fraction: 1, what: "every step (given the stolen end state)" },
      { states: lineK, acting: null },
      (k) => interpolated(k)[k]!,
    );

    // Spoof 2 (Zhang et al. 2021, fitting states to the next checkpoint): the spoofer holds a model
    // 2K steps ahead and, at each step it computes, pulls its state towards it by 0.9× the single-step
    // bound, so every step passes a committee; measured: how much of the gap it closes.
    const honestAhead = await run(worker, honestWorker[K]!, warm + K, K, setup.batches, hp);
    const target = honestAhead[K]!;
    const fitted: TensorMap[] = [C];
    for (let j = 0; j < K; j++) {
      const a = (await worker.step(fitted[j]!, await setup.batches(warm + j), hp)).next;
      fitted.push(drifted(fitted[j]!, a, BOUNDS, 0.9, towards(a, target)));
    }
    const gap = paramDistance(honestWorker[K]!, target);
    await measure(
      "spoof: fit each step towards a model 2k ahead",
      "spoof (PoL literature)",
      { fraction: 0, what: "none (every step computed)" },
      { states: fitted, acting: null },
      (k) => fitted[k]!,
      { gapClosedAtK: (gap - paramDistance(fitted[K]!, target)) / gap },
    );

    // V7.5: drift at 0.9× the bound over whole epochs, from the initial state.
    const digits = loadMnistDigits();
    const { test } = mnistSplit(SEED, digits.count, MNIST_TEST_SIZE);
    const testSet = batchTensors(digits, test);
    const allTarget = new Map(testSet);
    allTarget.set("y", { dtype: "I64", shape: [test.length], data: new BigInt64Array(test.length).fill(BigInt(TARGET_CLASS)) });
    const steps = epochs * setup.numBatches;
    const L = layers.length - 1;
    const driftStep =
      (direction: DriftDirection) =>
      async (s: TensorMap, b: TensorMap): Promise<TensorMap> =>
        drifted(s, (await worker.step(s, b, hp)).next, BOUNDS, 0.9, direction);
    const directions: { label: string; step: (s: TensorMap, b: TensorMap) => Promise<TensorMap> }[] = [
      // How far any perturbation of the trajectory carries it: an honest run on the verifier's settings.
      { label: "control: no drift, honest run on cpu/threads=2/opt=disabled", step: async (s, b) => (await verifier.step(s, b, hp)).next },
      { label: "keyed random direction (drift=0.9 worker mode)", step: driftStep(keyedDirection(JOB_KEY)) },
      {
        label: `targeted: raise class ${TARGET_CLASS} (fc${L}.bias[${TARGET_CLASS}], row ${TARGET_CLASS} of fc${L}.weight)`,
        step: driftStep(targetedDirection(L, layers[L - 1]!, TARGET_CLASS)),
      },
    ];
    const spec = setup.spec;
    const evaluate = (state: TensorMap): { accuracy: number; targetShare: number; targetLogp: number } => {
      const toTarget = evaluateMlp(spec, state, allTarget);
      return { accuracy: evaluateMlp(spec, state, testSet).accuracy, targetShare: toTarget.accuracy, targetLogp: -toTarget.loss };
    };
    let honest = setup.initial;
    const drift = directions.map(() => setup.initial);
    const limit: Record<string, unknown>[] = [];
    for (let t = 0; t < steps; t++) {
      const b = await setup.batches(t);
      honest = (await worker.step(honest, b, hp)).next;
      for (let d = 0; d < directions.length; d++) drift[d] = await directions[d]!.step(drift[d]!, b);
      if ((t + 1) % setup.numBatches !== 0) continue;
      const h = evaluate(honest);
      directions.forEach((d, i) => {
        const e = evaluate(drift[i]!);
        limit.push({
          direction: d.label,
          epoch: (t + 1) / setup.numBatches,
          steps: t + 1,
          honestAccuracy: h.accuracy,
          driftedAccuracy: e.accuracy,
          honestTargetShare: h.targetShare,
          driftedTargetShare: e.targetShare,
          honestTargetLogp: h.targetLogp,
          driftedTargetLogp: e.targetLogp,
          relativeParamChange: paramDistance(drift[i]!, honest) / paramNorm(honest),
        });
      });
    }
    ctx.log(
      `cheats: drift 0.9× over ${steps} steps: ${limit
        .slice(-directions.length)
        .map((l) => `${fmt(l.driftedAccuracy as number)} acc, ${pct(l.driftedTargetShare as number)} → class ${TARGET_CLASS}`)
        .join("; ")}`,
    );

    const kcols = ks.map((k) => `interval ratio k=${k}`);
    const md = [
      table(
        [
          "cheat",
          "compute saved",
          "single-step ratio median (max)",
          "steps > 1 (P flag, 1 sampled step)",
          ...kcols,
          `k-step audit flags (k=${ks.join("/")})`,
          "committee",
        ],
        rows.map((r) => [
          r.cheat,
          r.computeSaved === 0 ? "0" : `${pct(r.computeSaved, 1)} (${r.computeSavedWhat})`,
          `${fmt(r.stepRatioMedian)} (${fmt(r.stepRatioMax)})`,
          pct(r.stepsOverBound, 0),
          ...ks.map((k) => fmt(r.intervalRatio[k]!)),
          ks.map((k) => (r.flaggedByKStepAudit[k] ? "yes" : "no")).join("/"),
          `${r.committeeVote} (step ${r.committeeStep})`,
        ]),
      ),
      "",
      `Model ${layersLabel(layers)} (Adam), batch ${batch}. Checkpoint C = the honest state after ${warm} steps; every trajectory runs`,
      `${K} steps from C. Worker: cpu/threads=1/opt=all; verifier and juror: cpu/threads=2/opt=disabled (second juror run: threads=1/opt=all).`,
      `Single step: the §10.3 rule at δ_upd = ${BOUNDS.deltaUpd}, δ_ulp = ${BOUNDS.deltaUlp} on each step of the cheater's trajectory (median over the`,
      "steps the cheat acts on: odd steps for `reuse`). k steps: `compareInterval` of the verifier's honest replay from C and the cheater's",
      `state at C + k, δ_k = (${KBOUNDS.deltaKUpd}, ${KBOUNDS.deltaKUlp}): an interval ratio ≤ 1 passes a k-step audit. Committee: \`jurorVerdict\` on`,
      "the first step with ratio > 1 (what bisection pinpoints), else the first step. Compute saved for precision modes is the nominal",
      "A100 dense peak ratio (312 fp16/bf16, 156 tf32 vs 19.5 TFLOPS fp32); the cheat is modelled by rounding operands, not timed.",
      '`precision=…` (the worker mode) rounds the parameters and the batch only; the "graph rewrite" rows round every operand of every',
      "matrix product, forward and backward, with float32 accumulation (bench/lib/precisionGraph.ts): the real mixed-precision cheat.",
      `Fit spoof: share of the parameter distance to the model 2k ahead closed after k = ${K} steps: ${pct(rows.at(-1)!.extra!.gapClosedAtK!, 2)} (negative: it`,
      "ended farther away than honest training; the pull of 0.9× δ_upd per step, on the Adam moments too, changes later updates more than it moves the",
      "parameters towards the target, which is also why its trajectory leaves the honest replay although every single step passes).",
      "",
      `### Known limit (V7.5): drift at 0.9× the single-step bound, ${epochs} epoch(s) of ${setup.numBatches} steps from the initial state`,
      "",
      table(
        [
          "direction",
          "epoch",
          "test accuracy honest → drifted",
          `share predicted as class ${TARGET_CLASS}: honest → drifted`,
          `mean log p(class ${TARGET_CLASS}): honest → drifted`,
          "‖θ_drift − θ_honest‖ / ‖θ_honest‖",
        ],
        limit.map((l) => [
          l.direction as string,
          l.epoch as number,
          `${pct(l.honestAccuracy as number)} → ${pct(l.driftedAccuracy as number)}`,
          `${pct(l.honestTargetShare as number)} → ${pct(l.driftedTargetShare as number)}`,
          `${fmt(l.honestTargetLogp as number)} → ${fmt(l.driftedTargetLogp as number)}`,
          fmt(l.relativeParamChange as number),
        ]),
      ),
      "",
      `Every step of the drift trajectories passes the single-step rule (ratio ≈ 0.9). Test set: ${test.length} held-out MNIST digits. "Honest"`,
      "is the worker's honest run (cpu/threads=1/opt=all) on the same batches; the control row is how far an honest run on other settings",
      "ends from it: the scale against which the drift rows' parameter change is read.",
    ].join("\n");
    return {
      name: "cheats",
      title: "8. In-tolerance cheats and spoofing (single step vs k-step audit)",
      rows: [...rows.map((r) => ({ kind: "cheat", ...r })), ...limit.map((l) => ({ kind: "drift-limit", ...l }))],
      settings: {
        layers,
        batch,
        ks,
        warm,
        epochs,
        bounds: BOUNDS,
        kBounds: KBOUNDS,
        worker: "cpu/threads=1/opt=all",
        verifier: "cpu/threads=2/opt=disabled",
        juror2: "cpu/threads=1/opt=all",
        targetClass: TARGET_CLASS,
      },
      markdown: md,
    };
  } finally {
    await worker.dispose();
    await verifier.dispose();
    await juror2.dispose();
    for (const g of graphCheats) await g.runner.dispose();
  }
}

function numbers(v: string | undefined, fallback: number[]): number[] {
  if (v === undefined || v === "") return fallback;
  const out = v.split(",").map(Number);
  if (out.some((x) => !Number.isSafeInteger(x) || x < 1)) throw new Error(`expected positive integers, got "${v}"`);
  return out;
}

function modeLabel(m: NumericCheatMode): string {
  switch (m.kind) {
    case "precision":
      return `precision=${m.format}`;
    case "partial":
      return `partial=${m.keep}`;
    case "drift":
      return `drift=${m.multiple}`;
    default:
      return m.kind;
  }
}

/** S_0 … S_k from `start` at global step `first` (the batch source is called before each step). */
async function run(
  exec: StepExecutor,
  start: TensorMap,
  first: number,
  k: number,
  batches: BatchSource,
  hp: Readonly<Record<string, number>>,
): Promise<TensorMap[]> {
  const states = [start];
  for (let j = 0; j < k; j++) {
    const b = await batches(first + j);
    states.push((await exec.step(states[j]!, b, hp)).next);
  }
  return states;
}

/** (1 − w)·a + w·b per F32 tensor; integer tensors (counters) a + round(w·(b − a)). */
function lerp(a: TensorMap, b: TensorMap, w: number): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, ta] of a) {
    const tb = b.get(name)!;
    if (ta.dtype === "F32") {
      const x = ta.data as Float32Array;
      const y = tb.data as Float32Array;
      out.set(name, { ...ta, data: x.map((v, i) => v + w * (y[i]! - v)) });
    } else if (ta.data instanceof BigInt64Array) {
      const x = ta.data;
      const y = tb.data as BigInt64Array;
      out.set(name, { ...ta, data: x.map((v, i) => v + BigInt(Math.round(w * Number(y[i]! - v)))) });
    } else {
      out.set(name, ta);
    }
  }
  return out;
}

/** Per F32 tensor, the unit direction from `a` to `target` (null where they agree). */
function towards(a: TensorMap, target: TensorMap): DriftDirection {
  return (name) => {
    const x = a.get(name)!.data as Float32Array;
    const y = target.get(name)!.data as Float32Array;
    const d = Float64Array.from(x, (v, i) => y[i]! - v);
    return d.every((v) => v === 0) ? null : normalise(d);
  };
}

/** Raises the last layer's logit of `cls` for every input: +1 on its bias and on its weight row (ReLU features are ≥ 0). */
function targetedDirection(L: number, hidden: number, cls: number): DriftDirection {
  return (name, length) => {
    if (name !== `fc${L}.bias` && name !== `fc${L}.weight`) return null;
    const u = new Float64Array(length);
    if (name.endsWith("bias")) u[cls] = 1;
    else u.fill(1, cls * hidden, (cls + 1) * hidden);
    return normalise(u);
  };
}

const isParam = (name: string, t: Tensor): boolean => t.dtype === "F32" && name.startsWith("fc");

function paramDistance(a: TensorMap, b: TensorMap): number {
  let d2 = 0;
  for (const [name, t] of a) {
    if (!isParam(name, t)) continue;
    const x = t.data as Float32Array;
    const y = b.get(name)!.data as Float32Array;
    for (let i = 0; i < x.length; i++) d2 += (x[i]! - y[i]!) ** 2;
  }
  return Math.sqrt(d2);
}

function paramNorm(a: TensorMap): number {
  let n2 = 0;
  for (const [name, t] of a) if (isParam(name, t)) for (const v of t.data as Float32Array) n2 += v * v;
  return Math.sqrt(n2);
}
