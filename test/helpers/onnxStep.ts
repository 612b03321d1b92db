/** Shared helpers of the ONNX engine tests: deterministic batches/states and tolerance checks. */
import type { Tensor, TensorMap } from "../../verifier/engine/tensor";
import { uniformStream } from "../../verifier/engine/onnx/init";

/** A deterministic batch `x` float32 [B, n] in [0, 1), `y` int64 [B] in [0, classes). */
export function makeBatch(B: number, n: number, classes: number, seed = "batch"): TensorMap {
  const u = uniformStream(Buffer.from(seed), "x", B * n);
  const uy = uniformStream(Buffer.from(seed), "y", B);
  const x = Float32Array.from(u);
  const y = BigInt64Array.from(uy, (v) => BigInt(Math.floor(v * classes)));
  return new Map<string, Tensor>([
    ["x", { dtype: "F32", shape: [B, n], data: x }],
    ["y", { dtype: "I64", shape: [B], data: y }],
  ]);
}

/** Fills every float tensor whose name starts with `prefix` with values in `[lo, hi)`. */
export function fillSlots(state: TensorMap, prefix: string, lo: number, hi: number, seed = "slots"): TensorMap {
  const out: TensorMap = new Map(state);
  for (const [name, t] of state) {
    if (!name.startsWith(prefix) || t.dtype !== "F32") continue;
    const u = uniformStream(Buffer.from(seed), name, t.data.length);
    out.set(name, { ...t, data: Float32Array.from(u, (v) => lo + (hi - lo) * v) });
  }
  return out;
}

export function asF64(t: Tensor): Float64Array {
  return Float64Array.from(t.data as Float32Array | Float64Array);
}

export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

export function diffNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/**
 * The §10.3 form: `‖got − ref‖ ≤ δ_upd·‖ref − before‖ + δ_ulp·‖ref‖`; returns the ratio of the left
 * side to the right side (≤ 1 passes) so failures print how far off they are.
 */
export function updateRatio(ref: ArrayLike<number>, got: ArrayLike<number>, before: ArrayLike<number>, dUpd: number, dUlp: number): number {
  return diffNorm(got, ref) / (dUpd * diffNorm(ref, before) + dUlp * norm(ref) + 1e-30);
}
