/**
 * The fuller model of a reduced-precision cheat, for the cheats suite: the step graph rewritten so
 * that every operand of every matrix product (Gemm A and B, MatMul both; forward and backward, so
 * weights, inputs, hidden activations and back-propagated errors) is rounded to fp16 or bf16 by a
 * Cast there and back, with float32 accumulation (tensor cores' mode). The worker mode
 * `precision=…` rounds only the parameters and the batch (the gentlest form); this shows the rest.
 */
import { onnx, ElemType } from "../../verifier/engine/onnx/proto";
import { decodeModel } from "../../verifier/engine/onnx";

export function reducedPrecisionGraph(graph: Uint8Array, format: "fp16" | "bf16"): Uint8Array {
  const model = decodeModel(graph);
  const g = model.graph!;
  const to = format === "fp16" ? ElemType.FLOAT16 : ElemType.BFLOAT16;
  const nodes: onnx.INodeProto[] = [];
  let n = 0;
  for (const node of g.node ?? []) {
    if (node.opType === "Gemm" || node.opType === "MatMul") {
      const inputs = [...(node.input ?? [])];
      for (let i = 0; i < Math.min(2, inputs.length); i++) {
        const low = `rp_low_${n}`;
        const back = `rp_back_${n}`;
        n++;
        nodes.push({
          opType: "Cast",
          domain: "",
          name: `${low}_n`,
          input: [inputs[i]!],
          output: [low],
          attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: to }],
        });
        nodes.push({
          opType: "Cast",
          domain: "",
          name: `${back}_n`,
          input: [low],
          output: [back],
          attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: ElemType.FLOAT }],
        });
        inputs[i] = back;
      }
      nodes.push({ ...node, input: inputs });
    } else {
      nodes.push(node);
    }
  }
  return onnx.ModelProto.encode({ ...model, graph: { ...g, node: nodes } }).finish();
}
