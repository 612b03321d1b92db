/**
 * ADVERSARIAL numeric worker modes, off by default, for tests and the bench (docs/worker.md): cheats
 * whose states keep the form of training (every tensor present, counters advancing) but whose
 * arithmetic is not the step the manifest names. Each is a decorator of the honest StepExecutor / BatchSource, so the
 * production path never runs this code unless `--cheat` selects a mode.
 *
 *   precision=fp16|bf16|tf32  the gradient is computed from operands rounded to that format: the
 *       parameters and the batch's float inputs are rounded (round to nearest even; fp16 also to its
 *       range, subnormals included), the honest step runs on them, and the update it makes to the
 *       parameters is added to the full-precision parameters; optimizer slots see the honest fp32
 *       moments. That is mixed-precision training (fp32 master weights and optimizer state,
 *       reduced-precision matmul operands) minus the rounding of hidden activations and
 *       back-propagated errors: the gentlest form of the cheat (bench/lib/precisionGraph.ts rounds
 *       every matmul operand; its single-step ratios are about 1.4× these).
 *       Saves: matmuls on reduced-precision tensor cores instead of fp32 (A100 dense peak 312 TFLOPS
 *       fp16/bf16, 156 tf32, 19.5 fp32).
 *   partial=f  the gradient of round(f·B) distinct rows of the batch of B: the graph's shapes are
 *       static, so the dropped rows are replaced by copies of the kept ones (row i ← row i mod r). The
 *       result is a gradient of the r kept rows only (the copies weigh twice, so not exactly their
 *       mean): every dropped example's contribution is gone, which is what the check measures.
 *       Saves: 1 − f of the forward/backward work.
 *   reuse      every other step (odd positions within an interval, so every interval starts with a
 *       computed step and a state regenerated from a checkpoint is the same) applies the previous
 *       step's whole state update again (floats and counters) instead of running the step.
 *       Saves: ⌊k/2⌋/k of the steps.
 *   noupdate   no step runs: the state is carried over, only scalar integer tensors (the step graphs'
 *       step counters, e.g. `adam.step`) advance by one, so no integer mismatch gives the cheat away.
 *       Saves: all of it.
 *   drift=c    the honest step, then every parameter tensor moved by c × its single-step bound
 *       (δ_upd·‖a−S‖ + δ_ulp·‖a‖, docs/tolerance.md) along a fixed unit direction derived from the job
 *       key: the tampering budget below (c < 1) and above (c > 1) the committee's rule. Saves nothing.
 * `reuse` learns which step runs from the batch source, which the trainer calls with the global
 * step right before running it (as in cheats.ts).
 */
import { createHash } from "node:crypto";
import { UPowError } from "../errors";
import { roundBf16, roundFp16 } from "../engine/calibrate";
import type { BatchSource, StepExecutor, StepOutput } from "../engine/step";
import { isFloatDType, type Tensor, type TensorData, type TensorMap } from "../engine/tensor";

export type PrecisionFormat = "fp16" | "bf16" | "tf32";

export type NumericCheatMode =
  | { readonly kind: "precision"; readonly format: PrecisionFormat }
  | { readonly kind: "partial"; readonly keep: number }
  | { readonly kind: "reuse" }
  | { readonly kind: "noupdate" }
  | { readonly kind: "drift"; readonly multiple: number };

export class NumericCheatError extends UPowError {
  override readonly name = "NumericCheatError";
}

/** Single-step bounds the drift mode measures itself against (the job's tolerance). */
export interface DriftBounds {
  readonly deltaUpd: number;
  readonly deltaUlp: number;
  readonly perTensor?: Readonly<Record<string, { readonly deltaUpd: number; readonly deltaUlp: number }>>;
}

export interface NumericCheatJob {
  readonly key: string;
  readonly T: number;
  readonly k: number;
  /** Required by drift=c: the manifest's single-step tolerance. */
  readonly bounds?: DriftBounds;
}

export interface NumericCheatInputs {
  readonly runner: StepExecutor;
  readonly batches: BatchSource;
}

const USAGE = "precision=fp16|bf16|tf32, partial=<kept fraction in (0,1)>, reuse, noupdate or drift=<multiple of the bound > 0>";

/** The numeric mode `s` names; null when `s` is no numeric mode (cheats.ts tries its own); throws on a bad value. */
export function parseNumericCheat(s: string): NumericCheatMode | null {
  if (s === "reuse") return { kind: "reuse" };
  if (s === "noupdate") return { kind: "noupdate" };
  const m = /^(precision|partial|drift)=(.*)$/.exec(s);
  if (!m) return null;
  const bad = (): NumericCheatError => new NumericCheatError(`--cheat ${m[1]} must be ${USAGE}`, { details: { value: s } });
  if (m[1] === "precision") {
    if (m[2] !== "fp16" && m[2] !== "bf16" && m[2] !== "tf32") throw bad();
    return { kind: "precision", format: m[2] };
  }
  const v = m[2] === "" ? NaN : Number(m[2]);
  if (!Number.isFinite(v) || v <= 0 || (m[1] === "partial" && v >= 1)) throw bad();
  return m[1] === "partial" ? { kind: "partial", keep: v } : { kind: "drift", multiple: v };
}

export function isNumericCheat(mode: { readonly kind: string }): mode is NumericCheatMode {
  return ["precision", "partial", "reuse", "noupdate", "drift"].includes(mode.kind);
}

/** Nominal A100 dense peak throughput (TFLOPS) per matmul format: what a precision cheat buys. */
const PEAK_TFLOPS: Readonly<Record<PrecisionFormat | "fp32", number>> = { fp32: 19.5, tf32: 156, fp16: 312, bf16: 312 };

/** Fraction of the honest compute the mode does not spend, and what that figure counts. */
export function computeSaved(mode: NumericCheatMode, k: number): { readonly fraction: number; readonly what: string } {
  switch (mode.kind) {
    case "precision":
      return { fraction: 1 - PEAK_TFLOPS.fp32 / PEAK_TFLOPS[mode.format], what: `matmul time at A100 ${mode.format} vs fp32 peak` };
    case "partial":
      return { fraction: 1 - mode.keep, what: "forward/backward rows" };
    case "reuse":
      return { fraction: Math.floor(k / 2) / k, what: "steps not run" };
    case "noupdate":
      return { fraction: 1, what: "steps not run" };
    case "drift":
      return { fraction: 0, what: "none (tampering)" };
  }
}

/** Wraps the honest runner and batch source so that `mode` happens on every step it applies to. */
export function applyNumericCheat(mode: NumericCheatMode, honest: NumericCheatInputs, job: NumericCheatJob): NumericCheatInputs {
  switch (mode.kind) {
    case "precision":
      return { runner: precisionRunner(honest.runner, mode.format), batches: honest.batches };
    case "partial":
      return { runner: honest.runner, batches: async (t) => partialBatch(await honest.batches(t), mode.keep) };
    case "reuse": {
      // Only reuse depends on the step's position: learn it from the batch source.
      let current = -1;
      const batches: BatchSource = (t) => {
        current = t;
        return honest.batches(t);
      };
      return { runner: reuseRunner(honest.runner, () => current, job.k), batches };
    }
    case "noupdate":
      return { runner: { step: async (state) => ({ next: advanceCounters(state), loss: 0 }) }, batches: honest.batches };
    case "drift": {
      const bounds = job.bounds;
      if (bounds === undefined) throw new NumericCheatError("drift needs the job's single-step bounds", { details: { mode: mode.kind } });
      const direction = keyedDirection(job.key);
      const runner: StepExecutor = {
        async step(state, batch, hp): Promise<StepOutput> {
          const out = await honest.runner.step(state, batch, hp);
          return { next: drifted(state, out.next, bounds, mode.multiple, direction), loss: out.loss };
        },
      };
      return { runner, batches: honest.batches };
    }
  }
}

// ── precision ─────────────────────────────────────────────────────────────────────────────────────

/** Float32 values rounded to nearest even in `format` (kept in float32); fp16 also to its range. */
export function roundArray(format: PrecisionFormat, x: Float32Array): Float32Array {
  if (format === "bf16") return roundBf16(x);
  if (format === "fp16") return roundFp16(x);
  return roundTf32(x);
}

/** TF32: float32's exponent, 10 explicit significand bits (what tensor cores read of an fp32 operand). */
function roundTf32(x: Float32Array): Float32Array {
  const out = x.slice();
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < u.length; i++) {
    const v = u[i]!;
    if ((v & 0x7f800000) === 0x7f800000) continue; // Inf/NaN unchanged
    u[i] = ((v + 0xfff + ((v >>> 13) & 1)) & 0xffffe000) >>> 0;
  }
  return out;
}

/** Optimizer slots of the step graphs (spec.ts: `adam.m.<p>`, `adam.v.<p>`, `momentum.<p>`): not matmul operands. */
function isOptimizerSlot(name: string): boolean {
  return name.startsWith("adam.") || name.startsWith("momentum.");
}

/** The tensors `which` selects with every F32 element rounded to `format`; others shared. */
export function roundTensors(m: TensorMap, format: PrecisionFormat, which: (name: string) => boolean): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of m) {
    if (t.dtype !== "F32" || !which(name)) {
      out.set(name, t);
      continue;
    }
    out.set(name, { dtype: t.dtype, shape: t.shape, data: roundArray(format, t.data as Float32Array) });
  }
  return out;
}

function precisionRunner(honest: StepExecutor, format: PrecisionFormat): StepExecutor {
  const isParam = (name: string): boolean => !isOptimizerSlot(name);
  return {
    async step(state, batch, hp): Promise<StepOutput> {
      const rounded = roundTensors(state, format, isParam);
      const out = await honest.step(
        rounded,
        roundTensors(batch, format, () => true),
        hp,
      );
      const next: TensorMap = new Map();
      for (const [name, t] of out.next) {
        // Master weights stay fp32: add the update the reduced-precision step made to its rounded copy.
        next.set(name, t.dtype === "F32" && isParam(name) ? addDiff(state.get(name)!, t, rounded.get(name)!) : t);
      }
      return { next, loss: out.loss };
    },
  };
}

// ── partial batch ─────────────────────────────────────────────────────────────────────────────────

/** Keeps round(keep·B) rows (at least 1) of every batch tensor and fills the others with copies of them. */
export function partialBatch(batch: TensorMap, keep: number): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of batch) {
    const B = t.shape[0];
    if (B === undefined || B < 2)
      throw new NumericCheatError("partial needs batch tensors with a batch dimension of at least 2 rows", {
        details: { name, shape: t.shape },
      });
    const r = Math.min(B - 1, Math.max(1, Math.round(keep * B)));
    const row = t.data.length / B;
    const data = copyOf(t.data);
    for (let i = r; i < B; i++) data.copyWithin(i * row, (i % r) * row, ((i % r) + 1) * row);
    out.set(name, { dtype: t.dtype, shape: t.shape, data });
  }
  return out;
}

// ── reused update ─────────────────────────────────────────────────────────────────────────────────

function reuseRunner(honest: StepExecutor, currentStep: () => number, k: number): StepExecutor {
  let last: { readonly step: number; readonly before: TensorMap; readonly after: TensorMap; readonly loss: number } | null = null;
  return {
    async step(state, batch, hp): Promise<StepOutput> {
      const t = currentStep();
      if ((t % k) % 2 === 1) {
        if (last === null || last.step !== t - 1) {
          throw new NumericCheatError("reuse needs the update of the step just before", { details: { step: t, last: last?.step ?? null } });
        }
        const next: TensorMap = new Map();
        for (const [name, s] of state) next.set(name, addDiff(s, last.after.get(name)!, last.before.get(name)!));
        return { next, loss: last.loss };
      }
      const out = await honest.step(state, batch, hp);
      last = { step: t, before: state, after: out.next, loss: out.loss };
      return out;
    },
  };
}

// ── skipped update ────────────────────────────────────────────────────────────────────────────────

/** The state with every scalar integer tensor (a step counter) plus one; all else shared. */
function advanceCounters(state: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of state) {
    if (t.data.length !== 1 || isFloatDType(t.dtype) || t.dtype === "BOOL") {
      out.set(name, t);
      continue;
    }
    const data = copyOf(t.data);
    if (data instanceof BigInt64Array) data[0] = data[0]! + 1n;
    else (data as Int32Array)[0] = (data as Int32Array)[0]! + 1;
    out.set(name, { dtype: t.dtype, shape: t.shape, data });
  }
  return out;
}

// ── drift ─────────────────────────────────────────────────────────────────────────────────────────

/** A unit direction (float64) per tensor name and length; null leaves the tensor untouched. */
export type DriftDirection = (name: string, length: number) => Float64Array | null;

/**
 * The direction of drift=c: per parameter tensor, uniform [-1, 1) from sha256(job key, name),
 * normalised. Optimizer slots are left alone: Adam's second moment moved below zero would make the
 * next step NaN, which no tampering worker wants.
 */
export function keyedDirection(jobKey: string): DriftDirection {
  const cache = new Map<string, Float64Array>();
  return (name, length) => {
    if (isOptimizerSlot(name)) return null;
    const id = `${name}:${length}`;
    let u = cache.get(id);
    if (u === undefined) {
      u = new Float64Array(length);
      let block = Buffer.alloc(0);
      for (let i = 0; i < length; i++) {
        if (i % 8 === 0)
          block = createHash("sha256")
            .update(`upow.cheat.drift:${jobKey}:${name}:${i / 8}`)
            .digest();
        u[i] = (2 * block.readUInt32BE((i % 8) * 4)) / 2 ** 32 - 1;
      }
      u = normalise(u);
      cache.set(id, u);
    }
    return u;
  };
}

export function normalise(u: Float64Array): Float64Array {
  let n2 = 0;
  for (const x of u) n2 += x * x;
  const n = Math.sqrt(n2);
  if (n === 0) throw new NumericCheatError("a drift direction must not be zero");
  return u.map((x) => x / n);
}

/** `next` with every F32 tensor moved by `multiple` × its single-step bound along `direction`. */
export function drifted(before: TensorMap, next: TensorMap, bounds: DriftBounds, multiple: number, direction: DriftDirection): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, a] of next) {
    const s = before.get(name);
    const u = a.dtype === "F32" && s !== undefined ? direction(name, a.data.length) : null;
    if (u === null || s === undefined) {
      out.set(name, a);
      continue;
    }
    const ad = a.data as Float32Array;
    const sd = s.data as Float32Array;
    let upd2 = 0;
    let norm2 = 0;
    for (let i = 0; i < ad.length; i++) {
      upd2 += (ad[i]! - sd[i]!) ** 2;
      norm2 += ad[i]! ** 2;
    }
    const b = bounds.perTensor?.[name] ?? bounds;
    const size = multiple * (b.deltaUpd * Math.sqrt(upd2) + b.deltaUlp * Math.sqrt(norm2));
    const data = new Float32Array(ad.length);
    for (let i = 0; i < ad.length; i++) data[i] = ad[i]! + size * u[i]!;
    out.set(name, { dtype: a.dtype, shape: a.shape, data });
  }
  return out;
}

// ── helpers ───────────────────────────────────────────────────────────────────────────────────────

/** `base + (plus − minus)` element-wise in the tensor's own dtype (F32/F64 and integers). */
function addDiff(base: Tensor, plus: Tensor, minus: Tensor): Tensor {
  if (base.dtype === "F16" || base.dtype === "BF16") {
    throw new NumericCheatError("numeric cheats support F32/F64 and integer state tensors only", { details: { dtype: base.dtype } });
  }
  const data = copyOf(base.data);
  if (data instanceof BigInt64Array) {
    const p = plus.data as BigInt64Array;
    const m = minus.data as BigInt64Array;
    for (let i = 0; i < data.length; i++) data[i] = data[i]! + (p[i]! - m[i]!);
  } else {
    const d = data as Float64Array;
    const p = plus.data as Float64Array;
    const m = minus.data as Float64Array;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! + (p[i]! - m[i]!);
  }
  return { dtype: base.dtype, shape: base.shape, data };
}

function copyOf(d: TensorData): TensorData {
  if (d instanceof BigInt64Array) return d.slice();
  return (d as Float64Array).slice();
}
