/**
 * A step graph written node by node with onnx-proto, not with the project's builder: a linear
 * softmax classifier with SGD, weights stored `[in, out]`, OneHot/Softmax/Log instead of
 * LogSoftmax, its own names, opset 13, IR 7, and the loss computed last.
 */
import { onnx } from "onnx-proto";

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;

function vi(name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  };
}

function node(name: string, opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { name, opType, input, output: [output], attribute };
}

export interface ExternalGraphOptions {
  inputs: number;
  classes: number;
  /** Declared bias length; a wrong value makes a graph onnxruntime refuses to load. */
  biasLength?: number;
}

export function externalLinearSgdGraph(o: ExternalGraphOptions): Uint8Array {
  const graph: onnx.IGraphProto = {
    name: "hand_written_linear_sgd",
    input: [
      vi("batch.y", I64, ["N"]),
      vi("hp.learning_rate", F, []),
      vi("state.linear.w", F, [o.inputs, o.classes]),
      vi("state.linear.b", F, [o.biasLength ?? o.classes]),
      vi("batch.x", F, ["N", o.inputs]),
    ],
    output: [vi("next.linear.b", F, [o.biasLength ?? o.classes]), vi("loss", F, []), vi("next.linear.w", F, [o.inputs, o.classes])],
    initializer: [
      { name: "depth", dims: [], dataType: I64, int64Data: [o.classes] },
      { name: "off_on", dims: [2], dataType: F, floatData: [0, 1] },
      { name: "axis0", dims: [1], dataType: I64, int64Data: [0] },
    ],
    node: [
      node("fwd", "Gemm", ["batch.x", "state.linear.w", "state.linear.b"], "z"),
      node("labels", "OneHot", ["batch.y", "depth", "off_on"], "target", [{ name: "axis", type: A.INT, i: -1 }]),
      node("probs", "Softmax", ["z"], "p", [{ name: "axis", type: A.INT, i: -1 }]),
      node("count", "Size", ["batch.y"], "n_i"),
      node("count_f", "Cast", ["n_i"], "n", [{ name: "to", type: A.INT, i: F }]),
      node("err", "Sub", ["p", "target"], "e"),
      node("err_mean", "Div", ["e", "n"], "dz"),
      node("grad_w", "Gemm", ["batch.x", "dz"], "gw", [{ name: "transA", type: A.INT, i: 1 }]),
      node("grad_b", "ReduceSum", ["dz", "axis0"], "gb", [{ name: "keepdims", type: A.INT, i: 0 }]),
      node("scale_w", "Mul", ["hp.learning_rate", "gw"], "sw"),
      node("upd_w", "Sub", ["state.linear.w", "sw"], "next.linear.w"),
      node("scale_b", "Mul", ["gb", "hp.learning_rate"], "sb"),
      node("upd_b", "Sub", ["state.linear.b", "sb"], "next.linear.b"),
      node("logp", "Log", ["p"], "lp"),
      node("pick", "Mul", ["target", "lp"], "tlp"),
      node("sum", "ReduceSum", ["tlp"], "s", [{ name: "keepdims", type: A.INT, i: 0 }]),
      node("mean", "Div", ["s", "n"], "ms"),
      node("negate", "Neg", ["ms"], "loss"),
    ],
  };
  return onnx.ModelProto.encode({ irVersion: 7, producerName: "hand", opsetImport: [{ domain: "", version: 13 }], graph }).finish();
}
