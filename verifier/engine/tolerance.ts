/**
 * Per-tensor tolerance rule (PROTOCOL.md §10.3, §10.4; docs/tolerance.md).
 *
 * A verifier recomputes `a = step(S_j)` and compares it with the worker's `b = S_{j+1}` one tensor at
 * a time. A float tensor T fails iff
 *     ‖a_T − b_T‖₂ > δ_upd·‖a_T − S_{j,T}‖₂ + δ_ulp·‖a_T‖₂
 * (norms accumulated in float64 over the finite elements). Integer tensors must match exactly;
 * non-finite values must sit in the same places with the same kind (NaN, +Inf, −Inf); names, dtypes
 * and shapes must match. A whole-state norm is never used: one large tensor would hide the others.
 *
 * Pure: no I/O, no clocks.
 */
import { UPowError } from "../errors";
import { Ruling } from "../protocol/enums";
import { elementCount, isFloatDType, type DType, type Tensor, type TensorMap } from "./tensor";

/** Bounds of one comparison: the single-step pair (δ_upd, δ_ulp) or the k-step audit pair (δ_k). */
export interface ToleranceBounds {
  /** Allowed distance relative to the update norm ‖a_T − S_T‖. */
  readonly deltaUpd: number;
  /** Allowed distance relative to the tensor's own norm ‖a_T‖ (covers rounding of a tiny update). */
  readonly deltaUlp: number;
  /**
   * The manifest's per-tensor overrides by state tensor name (`tolerance.perTensor`): a tensor named
   * here is judged by its own pair instead of the pair above.
   */
  readonly perTensor?: Readonly<Record<string, ToleranceBounds>>;
}

/** The k-step pair of a manifest tolerance, with its per-tensor k-step overrides. */
export interface IntervalBounds {
  readonly deltaKUpd: number;
  readonly deltaKUlp: number;
  readonly perTensor?: Readonly<Record<string, { readonly deltaKUpd: number; readonly deltaKUlp: number }>>;
}

export type TensorVerdict =
  | "ok"
  | "exceeds" // float distance above the bound
  | "nonfinite-mismatch" // NaN/Inf in different places or kinds
  | "integer-mismatch" // an integer/bool tensor differs
  | "missing" // in the recomputed state, not in the claimed one
  | "unexpected" // in the claimed state, not in the recomputed one
  | "dtype-mismatch"
  | "shape-mismatch"
  | "before-mismatch"; // the start state lacks the tensor or has another dtype/shape

export interface TensorReport {
  readonly name: string;
  readonly dtype: DType | null;
  readonly verdict: TensorVerdict;
  /** ‖a_T − b_T‖₂ over finite elements (0 for non-float tensors that match). */
  readonly distance: number;
  /** ‖a_T − S_T‖₂, the size of the update. */
  readonly updateNorm: number;
  /** ‖a_T‖₂. */
  readonly norm: number;
  /** δ_upd·updateNorm + δ_ulp·norm. */
  readonly bound: number;
  /** distance / bound; 0 when both are 0; Infinity for any structural/integer/non-finite mismatch. */
  readonly ratio: number;
  /** Elements that differ (integer tensors) or whose non-finite class differs (float tensors). */
  readonly mismatchedElements: number;
  /** First differing element index, when one exists. */
  readonly firstMismatch: number | null;
}

export interface ComparisonReport {
  /** True iff at least one tensor failed the rule. */
  readonly convict: boolean;
  /** Largest ratio over all tensors (Infinity for a structural mismatch, 0 for an empty state). */
  readonly worstRatio: number;
  readonly worstTensor: string | null;
  readonly bounds: ToleranceBounds;
  /** One report per tensor name (union of both states), sorted by name. */
  readonly tensors: readonly TensorReport[];
}

export class ToleranceError extends UPowError {
  override readonly name = "ToleranceError";
}

function validateBounds(bounds: ToleranceBounds): void {
  const check = (key: string, v: unknown) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new ToleranceError("tolerance bound must be a finite number ≥ 0", { details: { key, value: String(v) } });
    }
  };
  check("deltaUpd", bounds.deltaUpd);
  check("deltaUlp", bounds.deltaUlp);
  for (const [name, b] of Object.entries(bounds.perTensor ?? {})) {
    check(`perTensor.${name}.deltaUpd`, b.deltaUpd);
    check(`perTensor.${name}.deltaUlp`, b.deltaUlp);
  }
}

/** The pair that judges tensor `name`: its per-tensor override, else the common pair. */
function boundsFor(bounds: ToleranceBounds, name: string): ToleranceBounds {
  const own = bounds.perTensor !== undefined && Object.hasOwn(bounds.perTensor, name) ? bounds.perTensor[name] : undefined;
  return own ?? bounds;
}

/**
 * The §10.3 check: `before` = S_j, `recomputed` = a = step(S_j), `claimed` = b = the worker's S_{j+1}.
 * For a k-step audit pass S_i, the replayed S_{i+k} and the claimed S_{i+k} with the δ_k bounds.
 */
export function compareStates(before: TensorMap, recomputed: TensorMap, claimed: TensorMap, bounds: ToleranceBounds): ComparisonReport {
  validateBounds(bounds);
  const names = [...new Set([...recomputed.keys(), ...claimed.keys()])].sort();
  const tensors: TensorReport[] = [];
  for (const name of names) {
    tensors.push(compareTensor(name, before.get(name), recomputed.get(name), claimed.get(name), boundsFor(bounds, name)));
  }
  let worstRatio = 0;
  let worstTensor: string | null = null;
  for (const t of tensors) {
    if (t.ratio > worstRatio || (worstTensor === null && t.verdict !== "ok")) {
      worstRatio = t.ratio;
      worstTensor = t.name;
    }
  }
  return { convict: tensors.some((t) => t.verdict !== "ok"), worstRatio, worstTensor, bounds, tensors };
}

/** The k-step audit form (§4, §10.3): same rule, δ_k bounds, update measured over the whole interval. */
export function compareInterval(
  intervalStart: TensorMap,
  replayedEnd: TensorMap,
  claimedEnd: TensorMap,
  bounds: IntervalBounds,
): ComparisonReport {
  return compareStates(intervalStart, replayedEnd, claimedEnd, intervalPair(bounds));
}

/** The k-step pair (and per-tensor k-step pairs) in the single-step shape `compareStates` reads. */
export function intervalPair(bounds: IntervalBounds): ToleranceBounds {
  const pair = { deltaUpd: bounds.deltaKUpd, deltaUlp: bounds.deltaKUlp };
  if (bounds.perTensor === undefined) return pair;
  return {
    ...pair,
    perTensor: Object.fromEntries(Object.entries(bounds.perTensor).map(([n, b]) => [n, { deltaUpd: b.deltaKUpd, deltaUlp: b.deltaKUlp }])),
  };
}

/** Juror votes, numbered as in docs/encoding.md. */
export const Vote = { WorkerFault: Ruling.WorkerFault, WorkerHonest: Ruling.WorkerHonest, Indeterminate: Ruling.Indeterminate } as const;
export type Vote = (typeof Vote)[keyof typeof Vote];

export interface JurorVerdict {
  readonly vote: Vote;
  /** Run 1 (reference) vs run 2 (the juror's own noise), with run 1 as `a`. */
  readonly selfCheck: ComparisonReport;
  /** Run 1 (reference setting) vs the worker's state. */
  readonly run1: ComparisonReport;
  /** Run 2 (the other setting) vs the worker's state. */
  readonly run2: ComparisonReport;
  /** Per tensor: how far the worker's state lies beyond what the V9.1 rule tolerates, sorted by name. */
  readonly margins: readonly JurorMargin[];
}

/** One tensor's terms of the V9.1 fault test `minᵢ(‖b − aⁱ‖ − boundᵢ) > 2‖a¹ − a²‖`. */
export interface JurorMargin {
  readonly name: string;
  /** minᵢ(‖b − aⁱ‖ − boundᵢ); Infinity when both runs see a structural, integer or non-finite mismatch. */
  readonly excess: number;
  /** ‖a¹ − a²‖; Infinity when the runs themselves disagree structurally, on an integer or on a non-finite. */
  readonly disagreement: number;
  /** excess > 2·disagreement. */
  readonly fault: boolean;
}

/** Ratio of the juror's self-disagreement above which it votes Indeterminate (§10.4: half the bound). */
const INDETERMINATE_RATIO = 0.5;

/**
 * v3 V9.1: `run1` is the step on the reference setting (CPU, 1 thread, deterministic), `run2` on any
 * other. WorkerFault iff for some tensor both runs put the worker's state beyond their bound by more
 * than twice the runs' own distance — checked first, so numerical instability (runs far apart) cannot
 * acquit an error larger than it, and a worker within the bound of either run is never convicted.
 * Otherwise Indeterminate iff the runs differ by more than half the bound somewhere; else WorkerHonest.
 */
export function jurorVerdict(
  before: TensorMap,
  run1: TensorMap,
  run2: TensorMap,
  claimed: TensorMap,
  bounds: ToleranceBounds,
): JurorVerdict {
  const selfCheck = compareStates(before, run1, run2, bounds);
  const r1 = compareStates(before, run1, claimed, bounds);
  const r2 = compareStates(before, run2, claimed, bounds);
  const margins = jurorMargins(selfCheck, r1, r2);
  let vote: Vote;
  if (margins.some((m) => m.fault)) vote = Vote.WorkerFault;
  else if (isIndeterminate(selfCheck)) vote = Vote.Indeterminate;
  else vote = Vote.WorkerHonest;
  return { vote, selfCheck, run1: r1, run2: r2, margins };
}

/** True iff the juror's own two runs disagree by more than half the bound anywhere. */
export function isIndeterminate(selfCheck: ComparisonReport): boolean {
  return selfCheck.tensors.some((t) => t.ratio > INDETERMINATE_RATIO);
}

function jurorMargins(selfCheck: ComparisonReport, r1: ComparisonReport, r2: ComparisonReport): JurorMargin[] {
  const byName = (r: ComparisonReport) => new Map(r.tensors.map((t) => [t.name, t]));
  const self = byName(selfCheck);
  const first = byName(r1);
  const second = byName(r2);
  const names = [...new Set([...first.keys(), ...second.keys()])].sort();
  return names.map((name) => {
    const excess = Math.min(excessOf(first.get(name)), excessOf(second.get(name)));
    const s = self.get(name);
    // A tensor one run produced and the other did not is a disagreement no distance measures.
    const disagreement = s === undefined ? Number.POSITIVE_INFINITY : measurable(s) ? s.distance : Number.POSITIVE_INFINITY;
    return { name, excess, disagreement, fault: excess > 2 * disagreement };
  });
}

/** ‖b − a‖ − bound of one run's report; a tensor absent from that run's report is no evidence (−Infinity). */
function excessOf(t: TensorReport | undefined): number {
  if (t === undefined) return Number.NEGATIVE_INFINITY;
  return measurable(t) ? t.distance - t.bound : Number.POSITIVE_INFINITY;
}

/** A float comparison with a distance (verdict ok or exceeds), as opposed to a structural mismatch. */
function measurable(t: TensorReport): boolean {
  return t.verdict === "ok" || t.verdict === "exceeds";
}

// ---------------------------------------------------------------------------------------------

function structural(name: string, dtype: DType | null, verdict: TensorVerdict): TensorReport {
  return {
    name,
    dtype,
    verdict,
    distance: Number.POSITIVE_INFINITY,
    updateNorm: 0,
    norm: 0,
    bound: 0,
    ratio: Number.POSITIVE_INFINITY,
    mismatchedElements: 0,
    firstMismatch: null,
  };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function compareTensor(
  name: string,
  s: Tensor | undefined,
  a: Tensor | undefined,
  b: Tensor | undefined,
  bounds: ToleranceBounds,
): TensorReport {
  if (a === undefined) return structural(name, b?.dtype ?? null, "unexpected");
  if (b === undefined) return structural(name, a.dtype, "missing");
  if (a.dtype !== b.dtype) return structural(name, a.dtype, "dtype-mismatch");
  if (!sameShape(a.shape, b.shape)) return structural(name, a.dtype, "shape-mismatch");
  checkLength(name, a);
  checkLength(name, b);
  if (!isFloatDType(a.dtype)) return compareExact(name, a, b);
  if (s === undefined || s.dtype !== a.dtype || !sameShape(s.shape, a.shape)) return structural(name, a.dtype, "before-mismatch");
  checkLength(name, s);
  return compareFloat(name, s, a, b, bounds);
}

function checkLength(name: string, t: Tensor): void {
  if (t.data.length !== elementCount(t.shape)) {
    throw new ToleranceError("tensor data length does not match its shape", {
      details: { name, shape: t.shape, length: t.data.length },
    });
  }
}

function compareExact(name: string, a: Tensor, b: Tensor): TensorReport {
  let mismatched = 0;
  let first: number | null = null;
  const da = a.data;
  const db = b.data;
  for (let i = 0; i < da.length; i++) {
    if (da[i] !== db[i]) {
      mismatched++;
      if (first === null) first = i;
    }
  }
  const ok = mismatched === 0;
  return {
    name,
    dtype: a.dtype,
    verdict: ok ? "ok" : "integer-mismatch",
    distance: ok ? 0 : Number.POSITIVE_INFINITY,
    updateNorm: 0,
    norm: 0,
    bound: 0,
    ratio: ok ? 0 : Number.POSITIVE_INFINITY,
    mismatchedElements: mismatched,
    firstMismatch: first,
  };
}

function compareFloat(name: string, s: Tensor, a: Tensor, b: Tensor, bounds: ToleranceBounds): TensorReport {
  const ra = floatReader(a);
  const rb = floatReader(b);
  const rs = floatReader(s);
  const n = a.data.length;
  let nonfiniteMismatch = 0;
  let first: number | null = null;
  for (let i = 0; i < n; i++) {
    const x = ra(i);
    const y = rb(i);
    // Non-finite values must agree in place and kind: NaN with NaN, +Inf with +Inf, -Inf with -Inf.
    if ((!Number.isFinite(x) || !Number.isFinite(y)) && !(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) {
      nonfiniteMismatch++;
      if (first === null) first = i;
    }
  }
  let sums = squaredSums(ra, rb, rs, n, 1);
  // Huge finite values (F64 near 1e300) overflow the squares to Infinity and Infinity/Infinity is NaN,
  // which would pass as "ok": measure again scaled by the largest magnitude.
  if (!Number.isFinite(sums.dist2) || !Number.isFinite(sums.upd2) || !Number.isFinite(sums.norm2)) {
    sums = squaredSums(ra, rb, rs, n, 1 / sums.maxAbs);
  }
  const unscale = sums.scale === 1 ? 1 : 1 / sums.scale;
  const scaledDistance = Math.sqrt(sums.dist2);
  const scaledBound = bounds.deltaUpd * Math.sqrt(sums.upd2) + bounds.deltaUlp * Math.sqrt(sums.norm2);
  const distance = scaledDistance * unscale;
  const updateNorm = Math.sqrt(sums.upd2) * unscale;
  const norm = Math.sqrt(sums.norm2) * unscale;
  const bound = scaledBound * unscale;
  if (nonfiniteMismatch > 0) {
    return {
      name,
      dtype: a.dtype,
      verdict: "nonfinite-mismatch",
      distance,
      updateNorm,
      norm,
      bound,
      ratio: Number.POSITIVE_INFINITY,
      mismatchedElements: nonfiniteMismatch,
      firstMismatch: first,
    };
  }
  const ratio = scaledDistance === 0 ? 0 : scaledBound === 0 ? Number.POSITIVE_INFINITY : scaledDistance / scaledBound;
  return {
    name,
    dtype: a.dtype,
    verdict: ratio > 1 || Number.isNaN(ratio) ? "exceeds" : "ok",
    distance,
    updateNorm,
    norm,
    bound,
    ratio,
    mismatchedElements: 0,
    firstMismatch: null,
  };
}

interface SquaredSums {
  readonly dist2: number;
  readonly upd2: number;
  readonly norm2: number;
  /** Largest finite magnitude seen (of a, b and s). */
  readonly maxAbs: number;
  readonly scale: number;
}

/** ‖a−b‖², ‖a−s‖², ‖a‖² over the elements where a and b are finite, every value multiplied by `scale`. */
function squaredSums(
  ra: (i: number) => number,
  rb: (i: number) => number,
  rs: (i: number) => number,
  n: number,
  scale: number,
): SquaredSums {
  let dist2 = 0;
  let upd2 = 0;
  let norm2 = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const x = ra(i);
    const y = rb(i);
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const sv = rs(i);
    maxAbs = Math.max(maxAbs, Math.abs(x), Math.abs(y), Number.isFinite(sv) ? Math.abs(sv) : 0);
    const d = x * scale - y * scale;
    dist2 += d * d;
    norm2 += x * scale * (x * scale);
    if (Number.isFinite(sv)) {
      const u = x * scale - sv * scale;
      upd2 += u * u;
    }
  }
  return { dist2, upd2, norm2, maxAbs, scale };
}

/** Element reader in float64 for every float dtype (F16/BF16 are stored as raw uint16 bits). */
export function floatReader(t: Tensor): (i: number) => number {
  const d = t.data;
  switch (t.dtype) {
    case "F32":
    case "F64":
      return (i) => d[i] as number;
    case "BF16": {
      const bits = d as Uint16Array;
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      return (i) => {
        u[0] = (bits[i] as number) << 16;
        return f[0] as number;
      };
    }
    case "F16": {
      const bits = d as Uint16Array;
      return (i) => halfToFloat(bits[i] as number);
    }
    default:
      throw new ToleranceError("not a float dtype", { details: { dtype: t.dtype } });
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
