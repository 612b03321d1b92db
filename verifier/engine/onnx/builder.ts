/**
 * Builds one pure training step of an MLP classifier as an ONNX graph (opset 17):
 * `(state.*, batch.x, batch.y, hp.*) -> (next.*, loss)`, with the backward pass and the optimizer
 * written out explicitly, so that any ONNX runtime executes exactly the same arithmetic.
 */
import { ElemType, GraphBuilder, attrInt, encodeModel } from "./proto";
import {
  ADAM_STEP,
  type Activation,
  type ModelSpec,
  hyperparameterNames,
  paramInfos,
  slotNames,
  stateLayout,
  validateModelSpec,
} from "./spec";

export interface BuildStepGraphOptions {
  /** Symbolic batch dimension name (`B`) or a fixed batch size. @default "B" */
  readonly batchDim?: string | number;
  /** @default 17 */
  readonly opset?: number;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Returns the ONNX ModelProto bytes of the step graph for `spec`. */
export function buildStepGraph(spec: ModelSpec, options: BuildStepGraphOptions = {}): Uint8Array {
  validateModelSpec(spec);
  const batchDim = options.batchDim ?? "B";
  const g = new GraphBuilder();
  const L = spec.layers.length - 1;
  const classes = spec.layers[L];

  for (const e of stateLayout(spec)) {
    g.input(`state.${e.name}`, e.dtype === "I64" ? ElemType.INT64 : ElemType.FLOAT, e.shape);
  }
  const x = g.input("batch.x", ElemType.FLOAT, [batchDim, spec.layers[0]]);
  const y = g.input("batch.y", ElemType.INT64, [batchDim]);
  const hp: Record<string, string> = {};
  for (const h of hyperparameterNames(spec)) hp[h] = g.input(`hp.${h}`, ElemType.FLOAT, []);

  // Forward: a_i = h_{i-1} W_i^T + b_i, h_i = act(a_i); logits = a_L.
  const pre: string[] = [x];
  const post: string[] = [x];
  for (let i = 1; i <= L; i++) {
    const a = g.op("Gemm", [post[i - 1], `state.fc${i}.weight`, `state.fc${i}.bias`], [attrInt("transB", 1)]);
    pre.push(a);
    post.push(i < L ? activation(g, spec.activation, a) : a);
  }
  const logits = pre[L];

  // Softmax cross-entropy, mean over the batch. One-hot by equality with [0..C-1] (no OneHot op).
  const logp = g.op("LogSoftmax", [logits], [attrInt("axis", 1)]);
  const yCol = g.op("Unsqueeze", [y, g.i64([1], [1])]);
  const classIds = g.i64(
    Array.from({ length: classes }, (_, c) => c),
    [1, classes],
  );
  const onehot = g.op("Cast", [g.op("Equal", [yCol, classIds])], [attrInt("to", ElemType.FLOAT)]);
  // Batch size as a float scalar: Shape (int64) → Cast to float (int→float is allowed) → sum to [].
  const batchF = g.op("ReduceSum", [g.op("Cast", [g.op("Shape", [y])], [attrInt("to", ElemType.FLOAT)])], [attrInt("keepdims", 0)]);
  const invB = g.op("Reciprocal", [batchF]);
  const picked = g.op("ReduceSum", [g.op("Mul", [onehot, logp]), g.i64([1], [1])], [attrInt("keepdims", 0)]);
  const total = g.op("ReduceSum", [picked], [attrInt("keepdims", 0)]);
  g.op("Neg", [g.op("Mul", [total, invB])], [], "loss");
  g.output("loss", ElemType.FLOAT, []);

  // Backward: dlogits = (softmax − onehot) / B.
  const probs = g.op("Exp", [logp]);
  let delta = g.op("Mul", [g.op("Sub", [probs, onehot]), invB]);
  const grads = new Map<string, string>();
  for (let i = L; i >= 1; i--) {
    grads.set(`fc${i}.weight`, g.op("Gemm", [delta, post[i - 1]], [attrInt("transA", 1)]));
    grads.set(`fc${i}.bias`, g.op("ReduceSum", [delta, g.i64([0], [1])], [attrInt("keepdims", 0)]));
    if (i > 1) {
      const dh = g.op("MatMul", [delta, `state.fc${i}.weight`]);
      delta = activationGrad(g, spec.activation, dh, pre[i - 1], post[i - 1]);
    }
  }

  // Optimizer.
  const one = g.f32(1);
  let bc1 = "";
  let bc2 = "";
  if (spec.optimizer === "adam") {
    g.op("Add", [`state.${ADAM_STEP}`, g.i64(1)], [], `next.${ADAM_STEP}`);
    const t = g.op("Cast", [`next.${ADAM_STEP}`], [attrInt("to", ElemType.FLOAT)]);
    bc1 = g.op("Sub", [one, g.op("Pow", [hp.beta1, t])]);
    bc2 = g.op("Sub", [one, g.op("Pow", [hp.beta2, t])]);
  }
  for (const p of paramInfos(spec)) {
    const w = `state.${p.name}`;
    const grad = grads.get(p.name) as string;
    switch (spec.optimizer) {
      case "sgd":
        g.op("Sub", [w, g.op("Mul", [hp.lr, grad])], [], `next.${p.name}`);
        break;
      case "momentum": {
        const [slot] = slotNames(spec, p.name);
        const v = g.op("Add", [g.op("Mul", [hp.momentum, `state.${slot}`]), grad], [], `next.${slot}`);
        g.op("Sub", [w, g.op("Mul", [hp.lr, v])], [], `next.${p.name}`);
        break;
      }
      case "adam": {
        const [mName, vName] = slotNames(spec, p.name);
        const m = g.op(
          "Add",
          [g.op("Mul", [hp.beta1, `state.${mName}`]), g.op("Mul", [g.op("Sub", [one, hp.beta1]), grad])],
          [],
          `next.${mName}`,
        );
        const v = g.op(
          "Add",
          [g.op("Mul", [hp.beta2, `state.${vName}`]), g.op("Mul", [g.op("Sub", [one, hp.beta2]), g.op("Mul", [grad, grad])])],
          [],
          `next.${vName}`,
        );
        const mHat = g.op("Div", [m, bc1]);
        const vHat = g.op("Div", [v, bc2]);
        const upd = g.op("Div", [mHat, g.op("Add", [g.op("Sqrt", [vHat]), hp.eps])]);
        g.op("Sub", [w, g.op("Mul", [hp.lr, upd])], [], `next.${p.name}`);
        break;
      }
    }
  }
  for (const e of stateLayout(spec)) {
    g.output(`next.${e.name}`, e.dtype === "I64" ? ElemType.INT64 : ElemType.FLOAT, e.shape);
  }
  return encodeModel(g.graph("upow_mlp_step"), {
    opset: options.opset ?? 17,
    docString: `upow MLP step: layers=${spec.layers.join("x")} act=${spec.activation} opt=${spec.optimizer}`,
  });
}

function activation(g: GraphBuilder, act: Activation, a: string): string {
  switch (act) {
    case "relu":
      return g.op("Relu", [a]);
    case "tanh":
      return g.op("Tanh", [a]);
    case "gelu": {
      // Exact GELU: 0.5·a·(1 + erf(a/√2)); the Gelu op only exists from opset 20.
      const cdf2 = g.op("Add", [g.f32(1), g.op("Erf", [g.op("Mul", [a, g.f32(SQRT1_2)])])]);
      return g.op("Mul", [g.op("Mul", [a, cdf2]), g.f32(0.5)]);
    }
  }
}

/** d loss / d a from d loss / d h, given pre-activation `a` and post-activation `h`. */
function activationGrad(g: GraphBuilder, act: Activation, dh: string, a: string, h: string): string {
  switch (act) {
    case "relu":
      return g.op("Where", [g.op("Greater", [a, g.f32(0)]), dh, g.f32(0)]);
    case "tanh":
      return g.op("Mul", [dh, g.op("Sub", [g.f32(1), g.op("Mul", [h, h])])]);
    case "gelu": {
      // d/da GELU = Φ(a) + a·φ(a), Φ(a) = 0.5(1+erf(a/√2)), φ(a) = exp(−a²/2)/√(2π).
      const cdf = g.op("Mul", [g.op("Add", [g.f32(1), g.op("Erf", [g.op("Mul", [a, g.f32(SQRT1_2)])])]), g.f32(0.5)]);
      const pdf = g.op("Mul", [g.op("Exp", [g.op("Mul", [g.op("Mul", [a, a]), g.f32(-0.5)])]), g.f32(INV_SQRT_2PI)]);
      return g.op("Mul", [dh, g.op("Add", [cdf, g.op("Mul", [a, pdf])])]);
    }
  }
}
