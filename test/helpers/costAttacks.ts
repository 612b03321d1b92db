/**
 * Step graphs that hide work from a declared cost (v3 V8 attack tests): an honest step graph whose
 * loss additionally depends (times zero) on an N×N product built from a tiny constant, so the
 * graph stays small and valid while a step costs ≈ 2·N³ FLOPs and 4·N² bytes per N×N value.
 */
import { onnx } from "../../verifier/engine/onnx/proto";

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;

/**
 * - expand: `Expand(w[1,1], [N,N])`; - constantOfShape: `ConstantOfShape([N,N])`; - tile: `Tile(w, [N,N])`
 * (not on the op allow-list); - negative: `Expand(w, [-N,N])` (a negative dim that would make the
 * MatMul count negative); - dynamic: `Expand(w, batch.y)` (the shape is known only at run time).
 */
export type HiddenWork = "expand" | "constantOfShape" | "tile" | "negative" | "dynamic";

export function withHiddenWork(graph: Uint8Array, kind: HiddenWork, n: number): Uint8Array {
  const m = onnx.ModelProto.decode(graph);
  const g = m.graph as onnx.GraphProto;
  const lossNode = g.node.find((x) => x.output?.[0] === "loss");
  if (!lossNode) throw new Error("graph has no loss node");
  lossNode.output = ["atk.loss_raw"];
  g.initializer.push(
    onnx.TensorProto.create({ name: "atk.w", dims: [1, 1], dataType: F, floatData: [1] }),
    onnx.TensorProto.create({ name: "atk.shape", dims: [2], dataType: I64, int64Data: [kind === "negative" ? -n : n, n] }),
    onnx.TensorProto.create({ name: "atk.zero", dims: [], dataType: F, floatData: [0] }),
  );
  const node = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []) =>
    onnx.NodeProto.create({ opType, name: output, input, output: [output], attribute });
  const big =
    kind === "constantOfShape"
      ? node("ConstantOfShape", ["atk.shape"], "atk.e", [{ name: "value", type: A.TENSOR, t: { dims: [1], dataType: F, floatData: [1] } }])
      : kind === "tile"
        ? node("Tile", ["atk.w", "atk.shape"], "atk.e")
        : node("Expand", ["atk.w", kind === "dynamic" ? "batch.y" : "atk.shape"], "atk.e");
  g.node.push(
    big,
    node("MatMul", ["atk.e", "atk.e"], "atk.mm"),
    node("ReduceSum", ["atk.mm"], "atk.s", [{ name: "keepdims", type: A.INT, i: 0 }]),
    node("Mul", ["atk.s", "atk.zero"], "atk.z"),
    node("Add", ["atk.loss_raw", "atk.z"], "loss"),
  );
  return onnx.ModelProto.encode(m).finish();
}
