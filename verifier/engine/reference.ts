/**
 * Independent float64 reference of the MLP training step (forward, softmax cross-entropy,
 * backward, SGD / momentum / Adam), written with plain loops and no ONNX, for tests and
 * calibration. Same formulas as `onnx/builder.ts`; hyperparameters are rounded to float32 first,
 * because that is what the graph receives.
 */
import { UPowError } from "../errors";
import type { Tensor, TensorMap } from "./tensor";
import { ADAM_STEP, type Activation, type ModelSpec, paramInfos, slotNames, stateLayout } from "./onnx/spec";

class ReferenceInputError extends UPowError {
  override readonly name: string = "ReferenceInputError";
}

export interface ReferenceStepResult {
  /** Next state: float tensors as F64, `adam.step` as I64. */
  readonly next: TensorMap;
  readonly loss: number;
  /** d loss / d parameter at the input state, F64, by parameter name. */
  readonly grads: Map<string, Float64Array>;
}

/** Parameters as float64 arrays by name (`fc1.weight`, ...). */
export type Params = Map<string, Float64Array>;

function toFloat64(t: Tensor): Float64Array {
  if (t.dtype !== "F32" && t.dtype !== "F64") throw new ReferenceInputError("expected a float tensor", { details: { dtype: t.dtype } });
  return Float64Array.from(t.data as Float32Array | Float64Array);
}

interface Batch {
  x: Float64Array;
  y: number[];
  B: number;
}

function readBatch(spec: ModelSpec, batch: TensorMap): Batch {
  const x = batch.get("x");
  const y = batch.get("y");
  if (!x || !y || y.dtype !== "I64") throw new ReferenceInputError("batch needs x (float) and y (int64)");
  const B = y.shape[0];
  if (x.shape[0] !== B || x.shape[1] !== spec.layers[0])
    throw new ReferenceInputError("batch x has the wrong shape", { details: { shape: x.shape } });
  return { x: toFloat64(x), y: Array.from(y.data as BigInt64Array, (v) => Number(v)), B };
}

/** erf to ~1e-13: Taylor series below 3, continued fraction for erfc above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6.5) return Math.sign(x);
  // erfc(z) = exp(-z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))
  let f = ax;
  for (let k = 80; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

function act(kind: Activation, a: number): number {
  switch (kind) {
    case "relu":
      return a > 0 ? a : 0;
    case "tanh":
      return Math.tanh(a);
    case "gelu":
      return 0.5 * a * (1 + erf(a * Math.SQRT1_2));
  }
}

function actGrad(kind: Activation, a: number, h: number): number {
  switch (kind) {
    case "relu":
      return a > 0 ? 1 : 0;
    case "tanh":
      return 1 - h * h;
    case "gelu":
      return 0.5 * (1 + erf(a * Math.SQRT1_2)) + (a * Math.exp(-0.5 * a * a)) / Math.sqrt(2 * Math.PI);
  }
}

interface Forward {
  pre: Float64Array[];
  post: Float64Array[];
  loss: number;
  dLogits: Float64Array;
}

function forward(spec: ModelSpec, params: Params, b: Batch): Forward {
  const L = spec.layers.length - 1;
  const pre: Float64Array[] = [b.x];
  const post: Float64Array[] = [b.x];
  for (let i = 1; i <= L; i++) {
    const nIn = spec.layers[i - 1];
    const nOut = spec.layers[i];
    const W = params.get(`fc${i}.weight`) as Float64Array;
    const bias = params.get(`fc${i}.bias`) as Float64Array;
    const h = post[i - 1];
    const a = new Float64Array(b.B * nOut);
    for (let r = 0; r < b.B; r++) {
      for (let o = 0; o < nOut; o++) {
        let s = bias[o];
        for (let k = 0; k < nIn; k++) s += h[r * nIn + k] * W[o * nIn + k];
        a[r * nOut + o] = s;
      }
    }
    pre.push(a);
    post.push(i < L ? a.map((v) => act(spec.activation, v)) : a);
  }
  const C = spec.layers[L];
  const logits = pre[L];
  const dLogits = new Float64Array(b.B * C);
  let loss = 0;
  for (let r = 0; r < b.B; r++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[r * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(logits[r * C + c] - m);
    const lse = m + Math.log(s);
    for (let c = 0; c < C; c++) {
      const onehot = b.y[r] === c ? 1 : 0;
      const logp = logits[r * C + c] - lse;
      loss -= onehot * logp;
      dLogits[r * C + c] = (Math.exp(logp) - onehot) / b.B;
    }
  }
  return { pre, post, loss: loss / b.B, dLogits };
}

/** Mean softmax cross-entropy of the MLP at `params` on `batch` (for finite differences). */
export function referenceLoss(spec: ModelSpec, params: Params, batch: TensorMap): number {
  return forward(spec, params, readBatch(spec, batch)).loss;
}

/** Analytic gradients of the loss at `params`. */
export function referenceGradients(spec: ModelSpec, params: Params, batch: TensorMap): { loss: number; grads: Params } {
  const b = readBatch(spec, batch);
  const f = forward(spec, params, b);
  const L = spec.layers.length - 1;
  const grads: Params = new Map();
  let delta = f.dLogits;
  for (let i = L; i >= 1; i--) {
    const nIn = spec.layers[i - 1];
    const nOut = spec.layers[i];
    const h = f.post[i - 1];
    const gW = new Float64Array(nOut * nIn);
    const gb = new Float64Array(nOut);
    for (let r = 0; r < b.B; r++) {
      for (let o = 0; o < nOut; o++) {
        const d = delta[r * nOut + o];
        gb[o] += d;
        for (let k = 0; k < nIn; k++) gW[o * nIn + k] += d * h[r * nIn + k];
      }
    }
    grads.set(`fc${i}.weight`, gW);
    grads.set(`fc${i}.bias`, gb);
    if (i > 1) {
      const W = params.get(`fc${i}.weight`) as Float64Array;
      const next = new Float64Array(b.B * nIn);
      for (let r = 0; r < b.B; r++) {
        for (let k = 0; k < nIn; k++) {
          let s = 0;
          for (let o = 0; o < nOut; o++) s += delta[r * nOut + o] * W[o * nIn + k];
          next[r * nIn + k] = s * actGrad(spec.activation, f.pre[i - 1][r * nIn + k], f.post[i - 1][r * nIn + k]);
        }
      }
      delta = next;
    }
  }
  return { loss: f.loss, grads };
}

/** One training step in float64 from a (float32 or float64) state. */
export function referenceStep(
  spec: ModelSpec,
  state: TensorMap,
  batch: TensorMap,
  hp: Readonly<Record<string, number>>,
): ReferenceStepResult {
  const layout = stateLayout(spec);
  for (const e of layout) if (!state.has(e.name)) throw new ReferenceInputError("state tensor missing", { details: { name: e.name } });
  const h = (name: string): number => {
    const v = hp[name];
    if (typeof v !== "number") throw new ReferenceInputError("hyperparameter missing", { details: { name } });
    return Math.fround(v);
  };
  const params: Params = new Map(paramInfos(spec).map((p) => [p.name, toFloat64(state.get(p.name) as Tensor)]));
  const { loss, grads } = referenceGradients(spec, params, batch);
  const next: TensorMap = new Map();
  const f64 = (shape: readonly number[], data: Float64Array): Tensor => ({ dtype: "F64", shape: [...shape], data });
  let t = 0;
  if (spec.optimizer === "adam") {
    const step = (state.get(ADAM_STEP) as Tensor).data as BigInt64Array;
    const nextStep = BigInt64Array.of(step[0] + 1n);
    next.set(ADAM_STEP, { dtype: "I64", shape: [], data: nextStep });
    t = Number(nextStep[0]);
  }
  for (const p of paramInfos(spec)) {
    const w = params.get(p.name) as Float64Array;
    const g = grads.get(p.name) as Float64Array;
    const out = new Float64Array(w.length);
    switch (spec.optimizer) {
      case "sgd":
        for (let i = 0; i < w.length; i++) out[i] = w[i] - h("lr") * g[i];
        break;
      case "momentum": {
        const [slot] = slotNames(spec, p.name);
        const v = toFloat64(state.get(slot) as Tensor);
        for (let i = 0; i < w.length; i++) {
          v[i] = h("momentum") * v[i] + g[i];
          out[i] = w[i] - h("lr") * v[i];
        }
        next.set(slot, f64(p.shape, v));
        break;
      }
      case "adam": {
        const [mName, vName] = slotNames(spec, p.name);
        const m = toFloat64(state.get(mName) as Tensor);
        const v = toFloat64(state.get(vName) as Tensor);
        const [b1, b2, eps, lr] = [h("beta1"), h("beta2"), h("eps"), h("lr")];
        const bc1 = 1 - Math.pow(b1, t);
        const bc2 = 1 - Math.pow(b2, t);
        for (let i = 0; i < w.length; i++) {
          m[i] = b1 * m[i] + (1 - b1) * g[i];
          v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
          out[i] = w[i] - lr * (m[i] / bc1 / (Math.sqrt(v[i] / bc2) + eps));
        }
        next.set(mName, f64(p.shape, m));
        next.set(vName, f64(p.shape, v));
        break;
      }
    }
    next.set(p.name, f64(p.shape, out));
  }
  const sorted: TensorMap = new Map([...next.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { next: sorted, loss, grads };
}
