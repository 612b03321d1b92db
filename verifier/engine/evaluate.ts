/** Classification accuracy and mean loss of an MLP state on a labelled set (float64 forward pass). */
import type { ModelSpec } from "./onnx";
import type { TensorMap } from "./tensor";
import { UPowError } from "../errors";
import { erf } from "./reference";

class EvaluateError extends UPowError {
  override readonly name = "EvaluateError";
}

export interface EvaluateResult {
  readonly accuracy: number;
  readonly loss: number;
  readonly count: number;
}

/** `x` float32 [N, in], `y` int64 [N]; weights `fc<i>.weight` [out, in], `fc<i>.bias` [out]. */
export function evaluateMlp(spec: ModelSpec, state: TensorMap, data: TensorMap): EvaluateResult {
  const x = data.get("x");
  const y = data.get("y");
  if (!x || !y || x.dtype !== "F32" || y.dtype !== "I64" || x.shape.length !== 2 || x.shape[1] !== spec.layers[0]) {
    throw new EvaluateError("evaluation set must hold x F32 [N, inputs] and y I64 [N]", { details: { x: x?.shape, y: y?.shape } });
  }
  const n = x.shape[0]!;
  const L = spec.layers.length - 1;
  const W: Float32Array[] = [];
  const B: Float32Array[] = [];
  for (let l = 1; l <= L; l++) {
    const w = state.get(`fc${l}.weight`);
    const b = state.get(`fc${l}.bias`);
    if (!w || !b) throw new EvaluateError("state lacks a layer", { details: { layer: l } });
    W.push(w.data as Float32Array);
    B.push(b.data as Float32Array);
  }
  const xd = x.data as Float32Array;
  const yd = y.data as BigInt64Array;
  let correct = 0;
  let lossSum = 0;
  for (let r = 0; r < n; r++) {
    let h: Float64Array = Float64Array.from(xd.subarray(r * spec.layers[0]!, (r + 1) * spec.layers[0]!));
    for (let l = 0; l < L; l++) {
      const fin = spec.layers[l]!;
      const fout = spec.layers[l + 1]!;
      const out = new Float64Array(fout);
      const w = W[l]!;
      for (let o = 0; o < fout; o++) {
        let s = B[l]![o]!;
        const base = o * fin;
        for (let i = 0; i < fin; i++) s += w[base + i]! * h[i]!;
        out[o] = l < L - 1 ? activate(spec.activation, s) : s;
      }
      h = out;
    }
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < h.length; c++)
      if (h[c]! > max) {
        max = h[c]!;
        best = c;
      }
    let z = 0;
    for (let c = 0; c < h.length; c++) z += Math.exp(h[c]! - max);
    const label = Number(yd[r]);
    lossSum += -(h[label]! - max - Math.log(z));
    if (best === label) correct++;
  }
  return { accuracy: n === 0 ? 0 : correct / n, loss: n === 0 ? 0 : lossSum / n, count: n };
}

function activate(kind: ModelSpec["activation"], v: number): number {
  switch (kind) {
    case "relu":
      return v > 0 ? v : 0;
    case "tanh":
      return Math.tanh(v);
    case "gelu":
      return 0.5 * v * (1 + erf(v * Math.SQRT1_2));
  }
}
