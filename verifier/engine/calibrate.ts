/**
 * Calibration of the tolerance bounds (PROTOCOL.md §4, §10.3): measures the honest drift between the
 * execution settings available on this machine, for single steps and k-step intervals, recommends
 * δ_upd, δ_ulp, δ_k_upd, δ_k_ulp, and shows that the cheats of §10.3 fail at those bounds.
 */
import { UPowError } from "../errors";
import { compareStates, type ComparisonReport, type ToleranceBounds } from "./tolerance";
import {
  EXECUTION_PROVIDERS,
  GPU_DOCS,
  StepRunner,
  executionProviderUnavailable,
  type ExecutionProviderName,
  type GraphOptimizationLevel,
} from "./runner";
import { isFloatDType, type Tensor, type TensorMap } from "./tensor";
import type { BatchSource, StepExecutor } from "./step";
import { TrainerError } from "./trainErrors";

export interface ExecutionSetting {
  readonly label: string;
  readonly ep: ExecutionProviderName;
  readonly threads: number;
  readonly optLevel: GraphOptimizationLevel;
}

/**
 * The CPU reference (one thread, all optimisations) and the alternatives compared against it. GPU
 * settings are listed for every requested GPU EP whether or not this machine can run it: calibrate
 * tries each and reports the ones that fail as skipped, with the reason, so a report always says
 * what was not compared.
 */
export function availableSettings(eps: readonly ExecutionProviderName[] = EXECUTION_PROVIDERS): ExecutionSetting[] {
  for (const ep of eps) {
    if (!EXECUTION_PROVIDERS.includes(ep)) throw executionProviderUnavailable(ep, "is an unknown execution provider", null);
  }
  const s: ExecutionSetting[] = [{ label: "cpu/threads=1/opt=all", ep: "cpu", threads: 1, optLevel: "all" }];
  if (eps.includes("cpu")) {
    s.push(
      { label: "cpu/threads=2/opt=all", ep: "cpu", threads: 2, optLevel: "all" },
      { label: "cpu/threads=1/opt=disabled", ep: "cpu", threads: 1, optLevel: "disabled" },
      { label: "cpu/threads=4/opt=disabled", ep: "cpu", threads: 4, optLevel: "disabled" },
    );
  }
  for (const ep of ["webgpu", "cuda"] as const) {
    if (!eps.includes(ep)) continue;
    s.push({ label: `${ep}/opt=all`, ep, threads: 1, optLevel: "all" });
    // The GPU EPs fuse differently with and without graph optimisation: measure both.
    s.push({ label: `${ep}/opt=disabled`, ep, threads: 1, optLevel: "disabled" });
  }
  return s;
}

/** Why a setting was not compared: the short reason and, for an unavailable EP, what to do. */
export interface SkippedSetting {
  readonly label: string;
  readonly reason: string;
  readonly hint?: string;
}

export function skippedSetting(label: string, e: unknown): SkippedSetting {
  if (e instanceof UPowError) {
    const hint = e.details?.hint;
    return { label, reason: e.shortMessage, ...(typeof hint === "string" ? { hint: `${hint} (${GPU_DOCS})` } : {}) };
  }
  return { label, reason: e instanceof Error ? e.message.split("\n")[0]! : String(e) };
}

export interface CalibrationFloors {
  readonly deltaUpd: number;
  readonly deltaUlp: number;
  readonly deltaKUpd: number;
  readonly deltaKUlp: number;
}

/**
 * The pinned δ_k procedure (v3 V7.3, docs/tolerance.md "Calibrating δ_k"). Inputs: the job's graph,
 * initial state, batches and hyperparameters. Settings: the CPU reference (1 thread, all graph
 * optimisations) against every other CPU setting of availableSettings() and every GPU EP that runs
 * (skipped ones are reported). Measured: `states` start states `spacing` steps apart along the
 * reference trajectory, from each one interval of the job's `k` steps per setting. Rule:
 * δ_k_ulp = its floor; δ_k_upd = max(floor, factor · worst over settings, start states and float
 * tensors of (‖a_T − b_T‖ − δ_k_ulp·‖a_T‖)⁺ / ‖a_T − S_T‖). A change of any number is a new version.
 */
export const DELTA_K_PROCEDURE = {
  version: "upow.delta-k/2",
  states: 3,
  spacing: 100,
  factor: 10,
  /**
   * Floors: twice the single-step floors (a manifest may not set δ_k below δ_upd). Measured honest
   * CPU interval drift is ≈ 1e-6 of the interval's update and CPU ↔ WebGPU ≈ 4e-5 (docs/engine.md,
   * docs/tolerance.md), so 10× it is below; the floor binds. v2 (`/1`) had 2e-3: raised with the
   * single-step floor when 10⁴ CPU ↔ WebGPU steps showed honest single steps at ratio 1.08 of 10⁻³.
   */
  floors: { deltaKUpd: 6e-3, deltaKUlp: 2e-6 },
} as const;

/**
 * Governance-style floors: δ_ulp ≈ 8 float32 ulps of the tensor norm; δ_upd 0.3 % of the update, three
 * times the worst honest cross-implementation single step measured (CPU ↔ WebGPU, 10⁴ steps: 1.08e-3,
 * in Adam's first moment late in training, docs/tolerance.md); δ_k per DELTA_K_PROCEDURE.
 */
export const DEFAULT_FLOORS: CalibrationFloors = { deltaUpd: 3e-3, deltaUlp: 1e-6, ...DELTA_K_PROCEDURE.floors };

export interface CalibrateParameters {
  readonly graph: Uint8Array;
  readonly initialState: TensorMap;
  readonly batches: BatchSource;
  readonly hp: Readonly<Record<string, number>>;
  /** Number of start states taken along a reference trajectory. @default 3 */
  readonly states?: number;
  /** Steps between two start states. @default 5 */
  readonly spacing?: number;
  /** Single steps measured per start state (consecutive batches). @default 2 */
  readonly batchesPerState?: number;
  /** Interval length for the k-step measurement. @default 4 */
  readonly k?: number;
  /** Safety factor over the worst observed drift. @default DELTA_K_PROCEDURE.factor (10) */
  readonly factor?: number;
  readonly floors?: Partial<CalibrationFloors>;
  /** Settings to compare; the first is the reference. @default availableSettings() */
  readonly settings?: readonly ExecutionSetting[];
  readonly onProgress?: (done: number, total: number) => void;
}

export interface DriftMeasurement {
  readonly setting: string;
  readonly kind: "step" | "interval";
  /** Global step the measurement starts from. */
  readonly step: number;
  /** max over float tensors of ‖a−b‖ / ‖a−S‖ (drift relative to the update). */
  readonly relUpdate: number;
  /** max over float tensors of ‖a−b‖ / ‖a‖. */
  readonly relNorm: number;
  /** True when the two settings gave bit-identical states. */
  readonly identical: boolean;
  /** Ratio under the recommended bounds (must stay ≤ 1, and ≤ 0.5 for juror self-checks). */
  readonly ratio: number;
}

export interface CheatMeasurement {
  readonly cheat: "skipped-step" | "half-batch" | "zeroed-adam-moments" | "bf16-weights" | "fp16-weights";
  readonly step: number;
  /** Worst ratio under the recommended single-step bounds (convicted iff > 1). */
  readonly ratio: number;
  readonly worstTensor: string | null;
  readonly convicted: boolean;
}

export interface CalibrationReport {
  /** DELTA_K_PROCEDURE.version: which pinned rule produced `recommended`. */
  readonly procedure: string;
  readonly reference: string;
  readonly settings: readonly string[];
  readonly skippedSettings: readonly SkippedSetting[];
  readonly recommended: CalibrationFloors;
  readonly factor: number;
  readonly floors: CalibrationFloors;
  readonly measurements: readonly DriftMeasurement[];
  readonly worstHonestStepRatio: number;
  readonly worstHonestIntervalRatio: number;
  readonly cheats: readonly CheatMeasurement[];
}

export async function calibrate(p: CalibrateParameters): Promise<CalibrationReport> {
  const nStates = p.states ?? 3;
  const spacing = p.spacing ?? 5;
  const perState = p.batchesPerState ?? 2;
  const k = p.k ?? 4;
  const factor = p.factor ?? DELTA_K_PROCEDURE.factor;
  const floors: CalibrationFloors = { ...DEFAULT_FLOORS, ...p.floors };
  for (const [name, v] of Object.entries({ states: nStates, spacing, batchesPerState: perState, k })) {
    if (!Number.isSafeInteger(v) || v < 1) throw new TrainerError(`${name} must be a positive integer`, { details: { [name]: v } });
  }
  if (!(factor >= 1)) throw new TrainerError("factor must be ≥ 1", { details: { factor } });
  const wanted = p.settings ?? availableSettings();
  if (wanted.length < 2) throw new TrainerError("calibration needs a reference and at least one other setting");

  const runners: { setting: ExecutionSetting; runner: StepRunner }[] = [];
  const skipped: SkippedSetting[] = [];
  for (const s of wanted) {
    let runner: StepRunner | undefined;
    try {
      runner = await StepRunner.create({ graph: p.graph, ep: s.ep, threads: s.threads, optLevel: s.optLevel });
      // A GPU EP can open a session and still fail on the first run (kernels compile lazily):
      // probe one step so such a setting is reported as skipped instead of aborting the calibration.
      if (s.ep !== "cpu") await runner.step(p.initialState, await p.batches(0), p.hp);
      runners.push({ setting: s, runner });
    } catch (e) {
      if (runner) await runner.dispose();
      if (runners.length === 0) throw e; // the reference must work
      skipped.push(skippedSetting(s.label, e));
    }
  }
  if (runners.length < 2) {
    await runners[0]!.runner.dispose();
    throw new TrainerError("no setting besides the reference could run, so there is nothing to compare", {
      details: { reference: runners[0]!.setting.label, skipped },
    });
  }
  try {
    const ref = runners[0]!.runner;
    // Start states along the reference trajectory (0, spacing, 2·spacing, ...).
    const starts: { step: number; state: TensorMap }[] = [];
    let state = p.initialState;
    for (let t = 0; starts.length < nStates; t++) {
      if (t % spacing === 0) starts.push({ step: t, state });
      if (starts.length < nStates) state = (await ref.step(state, await p.batches(t), p.hp)).next;
    }
    const alts = runners.slice(1);
    const total = starts.length * (perState + 1) * alts.length + starts.length;
    let done = 0;
    const tick = (): void => p.onProgress?.(++done, total);

    // Raw drift: per measurement, per float tensor (distance, update norm, norm).
    const raw: {
      setting: string;
      kind: "step" | "interval";
      step: number;
      report: ComparisonReport;
      identical: boolean;
      start: TensorMap;
      a: TensorMap;
      b: TensorMap;
    }[] = [];
    for (const { step, state: s } of starts) {
      for (let j = 0; j < perState; j++) {
        const batch = await p.batches(step + j);
        const a = (await ref.step(s, batch, p.hp)).next;
        for (const alt of alts) {
          const b = (await alt.runner.step(s, batch, p.hp)).next;
          raw.push({
            setting: alt.setting.label,
            kind: "step",
            step,
            report: compareStates(s, a, b, UNIT_UPD),
            identical: identicalStates(a, b),
            start: s,
            a,
            b,
          });
          tick();
        }
      }
      const aEnd = await runSteps(ref, s, step, k, p);
      for (const alt of alts) {
        const bEnd = await runSteps(alt.runner, s, step, k, p);
        raw.push({
          setting: alt.setting.label,
          kind: "interval",
          step,
          report: compareStates(s, aEnd, bEnd, UNIT_UPD),
          identical: identicalStates(aEnd, bEnd),
          start: s,
          a: aEnd,
          b: bEnd,
        });
        tick();
      }
    }

    const stepRaw = raw.filter((r) => r.kind === "step");
    const intRaw = raw.filter((r) => r.kind === "interval");
    const recommended: CalibrationFloors = {
      deltaUlp: floors.deltaUlp,
      deltaUpd: recommendUpd(
        stepRaw.map((r) => r.report),
        floors.deltaUlp,
        floors.deltaUpd,
        factor,
      ),
      deltaKUlp: floors.deltaKUlp,
      deltaKUpd: recommendUpd(
        intRaw.map((r) => r.report),
        floors.deltaKUlp,
        floors.deltaKUpd,
        factor,
      ),
    };
    const stepBounds: ToleranceBounds = { deltaUpd: recommended.deltaUpd, deltaUlp: recommended.deltaUlp };
    const kBounds: ToleranceBounds = { deltaUpd: recommended.deltaKUpd, deltaUlp: recommended.deltaKUlp };
    const measurements: DriftMeasurement[] = raw.map((r) => ({
      setting: r.setting,
      kind: r.kind,
      step: r.step,
      relUpdate: maxOver(r.report, (t) => (t.updateNorm > 0 ? t.distance / t.updateNorm : t.distance > 0 ? Infinity : 0)),
      relNorm: maxOver(r.report, (t) => (t.norm > 0 ? t.distance / t.norm : t.distance > 0 ? Infinity : 0)),
      identical: r.identical,
      ratio: compareStates(r.start, r.a, r.b, r.kind === "step" ? stepBounds : kBounds).worstRatio,
    }));

    const cheats: CheatMeasurement[] = [];
    for (const { step, state: s } of starts) {
      const batch = await p.batches(step);
      const a = (await ref.step(s, batch, p.hp)).next;
      const variants: [CheatMeasurement["cheat"], TensorMap][] = [
        ["skipped-step", withIntegersOf(s, a)],
        ["half-batch", (await ref.step(s, halfBatch(batch), p.hp)).next],
        ["zeroed-adam-moments", (await ref.step(zeroMoments(s), batch, p.hp)).next],
        ["bf16-weights", mapFloats(a, roundBf16)],
        ["fp16-weights", mapFloats(a, roundFp16)],
      ];
      for (const [cheat, b] of variants) {
        // Zeroing moments that are still zero (the first step) is no cheat.
        if (cheat === "zeroed-adam-moments" && !hasNonZeroMoment(s)) continue;
        const r = compareStates(s, a, b, stepBounds);
        cheats.push({ cheat, step, ratio: r.worstRatio, worstTensor: r.worstTensor, convicted: r.convict });
      }
      tick();
    }
    return {
      procedure: DELTA_K_PROCEDURE.version,
      reference: runners[0]!.setting.label,
      settings: alts.map((a) => a.setting.label),
      skippedSettings: skipped,
      recommended,
      factor,
      floors,
      measurements,
      worstHonestStepRatio: Math.max(0, ...measurements.filter((m) => m.kind === "step").map((m) => m.ratio)),
      worstHonestIntervalRatio: Math.max(0, ...measurements.filter((m) => m.kind === "interval").map((m) => m.ratio)),
      cheats,
    };
  } finally {
    await Promise.all(runners.map((r) => r.runner.dispose()));
  }
}

// distance/bound with deltaUpd = 1, deltaUlp = 0 (only the raw norms are used from these reports).
const UNIT_UPD: ToleranceBounds = { deltaUpd: 1, deltaUlp: 0 };

/**
 * δ_upd = max(floor, factor · worst_T (d_T − δ_ulp·‖a_T‖)⁺ / ‖a_T − S_T‖): the ulp term absorbs what
 * it can; the rest must be covered by the update term with a safety factor.
 */
export function recommendUpd(reports: readonly ComparisonReport[], deltaUlp: number, floor: number, factor: number): number {
  let worst = 0;
  for (const r of reports) {
    for (const t of r.tensors) {
      if (t.verdict !== "ok" && t.verdict !== "exceeds") {
        throw new TrainerError("honest settings disagree structurally (integer, non-finite or shape)", {
          details: { tensor: t.name, verdict: t.verdict },
        });
      }
      const excess = t.distance - deltaUlp * t.norm;
      if (excess <= 0) continue;
      worst = Math.max(worst, t.updateNorm > 0 ? excess / t.updateNorm : Infinity);
    }
  }
  return Math.max(floor, factor * worst);
}

function maxOver(r: ComparisonReport, f: (t: ComparisonReport["tensors"][number]) => number): number {
  let m = 0;
  for (const t of r.tensors) if (t.dtype !== null && isFloatDType(t.dtype)) m = Math.max(m, f(t));
  return m;
}

async function runSteps(runner: StepExecutor, s: TensorMap, first: number, k: number, p: CalibrateParameters): Promise<TensorMap> {
  let st = s;
  for (let j = 0; j < k; j++) st = (await runner.step(st, await p.batches(first + j), p.hp)).next;
  return st;
}

function identicalStates(a: TensorMap, b: TensorMap): boolean {
  for (const [name, t] of a) {
    const u = b.get(name);
    if (!u) return false;
    const x = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const y = Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength);
    if (!x.equals(y)) return false;
  }
  return a.size === b.size;
}

function hasNonZeroMoment(s: TensorMap): boolean {
  for (const [name, t] of s) if (isMoment(name) && (t.data as Float32Array).some((v) => v !== 0)) return true;
  return false;
}

function isMoment(name: string): boolean {
  return name.startsWith("adam.m.") || name.startsWith("adam.v.");
}

/** The start state with the honest result's integer tensors (counters), so only float tensors can fail. */
function withIntegersOf(s: TensorMap, a: TensorMap): TensorMap {
  const out: TensorMap = new Map(s);
  for (const [name, t] of a) if (!isFloatDType(t.dtype)) out.set(name, t);
  return out;
}

function halfBatch(batch: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of batch) {
    const rows = t.shape[0] ?? 1;
    const keep = Math.max(1, Math.floor(rows / 2));
    const per = t.data.length / rows;
    out.set(name, { dtype: t.dtype, shape: [keep, ...t.shape.slice(1)], data: t.data.slice(0, keep * per) } as Tensor);
  }
  return out;
}

function zeroMoments(s: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of s) {
    out.set(name, isMoment(name) ? ({ ...t, data: new Float32Array(t.data.length) } as Tensor) : t);
  }
  return out;
}

function mapFloats(m: TensorMap, f: (x: Float32Array) => Float32Array): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of m) out.set(name, t.dtype === "F32" ? { ...t, data: f(t.data as Float32Array) } : t);
  return out;
}

/** Round float32 values to the nearest bfloat16 (ties to even), kept in float32 storage. */
export function roundBf16(x: Float32Array): Float32Array {
  const out = x.slice();
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < u.length; i++) {
    const v = u[i]!;
    if ((v & 0x7f800000) === 0x7f800000) continue; // Inf/NaN unchanged
    u[i] = ((v + 0x7fff + ((v >>> 16) & 1)) & 0xffff0000) >>> 0;
  }
  return out;
}

/** Round float32 values to float16 precision (11-bit significand, ties to even), kept in float32. */
export function roundFp16(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v) || v === 0) {
      out[i] = v;
      continue;
    }
    const e = Math.max(Math.floor(Math.log2(Math.abs(v))), -14); // subnormals share the minimum exponent
    const q = 2 ** (e - 10);
    const r = Math.abs(v) / q;
    let n = Math.round(r);
    if (r - Math.trunc(r) === 0.5 && n % 2 !== 0) n -= 1; // ties to even
    out[i] = n * q > 65504 ? Math.sign(v) * Infinity : Math.sign(v) * n * q;
  }
  return out;
}
