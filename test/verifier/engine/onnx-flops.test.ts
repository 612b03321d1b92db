import { expect } from "chai";
import {
  GraphShapeInferenceError,
  GraphOpNotAllowedError,
  buildStepGraph,
  estimateFlops,
  initState,
  type ModelSpec,
} from "../../../verifier/engine/onnx";
import { onnx } from "../../../verifier/engine/onnx/proto";
import { externalLinearSgdGraph } from "../../helpers/externalGraph";

/** Matmul FLOPs of an MLP step derived by hand: forward, weight gradients, input gradients (not for layer 1). */
function mlpMatmulFlops(layers: number[], B: number): number {
  let f = 0;
  for (let i = 1; i < layers.length; i++) {
    const mk = layers[i - 1] * layers[i];
    f += 2 * B * mk; // forward
    f += 2 * B * mk; // dW
    if (i > 1) f += 2 * B * mk; // dh
  }
  return f;
}

describe("onnx FLOPs and memory by shape inference", function () {
  for (const optimizer of ["sgd", "momentum", "adam"] as const) {
    it(`counts the matmul FLOPs and state bytes of the MLP step exactly (${optimizer})`, function () {
      const spec: ModelSpec = { layers: [784, 64, 32, 10], activation: "gelu", optimizer };
      const graph = buildStepGraph(spec);
      const cost = estimateFlops(graph, { x: [50, 784], y: [50] });
      expect(cost.matmulFlops).to.equal(mlpMatmulFlops([784, 64, 32, 10], 50));
      expect(cost.otherFlops).to.be.above(0);
      expect(cost.flops).to.equal(cost.matmulFlops + cost.otherFlops);
      expect(cost.otherFlops).to.be.below(0.5 * cost.matmulFlops);
      let stateBytes = 0;
      for (const t of initState(spec, "s").values()) stateBytes += t.data.byteLength;
      expect(cost.stateBytes).to.equal(stateBytes);
      expect(cost.batchBytes).to.equal(50 * 784 * 4 + 50 * 8);
      expect(cost.intermediateBytes).to.be.above(stateBytes); // includes the whole next state
      expect(cost.peakBytesUpperBound).to.equal(cost.stateBytes + cost.batchBytes + cost.constantBytes + cost.intermediateBytes);
    });
  }

  it("scales the matmul FLOPs with the batch size", function () {
    const graph = buildStepGraph({ layers: [784, 128, 10], activation: "relu", optimizer: "adam" });
    const a = estimateFlops(graph, { x: [32, 784], y: [32] });
    const b = estimateFlops(graph, { x: [64, 784], y: [64] });
    expect(b.matmulFlops).to.equal(2 * a.matmulFlops);
    expect(b.flops).to.be.above(a.flops);
  });

  it("prices a hand-written external graph (Gemm, OneHot, Size, Softmax)", function () {
    const cost = estimateFlops(externalLinearSgdGraph({ inputs: 20, classes: 5 }), { x: [12, 20], y: [12] });
    expect(cost.matmulFlops).to.equal(2 * 12 * 20 * 5 + 2 * 12 * 20 * 5);
    expect(cost.stateBytes).to.equal((20 * 5 + 5) * 4);
  });

  it("folds PyTorch-style shape arithmetic (Shape → Gather → Unsqueeze → Concat → Reshape)", function () {
    const base = externalLinearSgdGraph({ inputs: 20, classes: 5 });
    const m = onnx.ModelProto.decode(base);
    const g = m.graph as onnx.GraphProto;
    const I64 = onnx.TensorProto.DataType.INT64;
    g.initializer.push(
      onnx.TensorProto.create({ name: "zero", dims: [], dataType: I64, int64Data: [0] }),
      onnx.TensorProto.create({ name: "minus1", dims: [1], dataType: I64, int64Data: [-1] }),
    );
    const n = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []): onnx.NodeProto =>
      onnx.NodeProto.create({ opType, input, output: [output], attribute });
    g.node.splice(
      0,
      0,
      n("Shape", ["batch.x"], "sx"),
      n("Gather", ["sx", "zero"], "b0"),
      n("Unsqueeze", ["b0", "axis0"], "b1"),
      n("Concat", ["b1", "minus1"], "tgt", [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 0 }]),
      n("Reshape", ["batch.x", "tgt"], "x2"),
      n("Flatten", ["x2"], "x3"),
    );
    const bytes = onnx.ModelProto.encode(m).finish();
    const before = estimateFlops(base, { x: [6, 20], y: [6] });
    const after = estimateFlops(bytes, { x: [6, 20], y: [6] });
    // Shape [2] + Gather [] + Unsqueeze [1] + Concat [2] int64, then two copies of x.
    expect(after.intermediateBytes - before.intermediateBytes).to.equal((2 + 1 + 1 + 2) * 8 + 2 * 6 * 20 * 4);
    expect(after.flops).to.equal(before.flops);
  });

  describe("when shapes cannot be inferred or do not fit", function () {
    const graph = buildStepGraph({ layers: [784, 16, 10], activation: "relu", optimizer: "sgd" });

    it("rejects a missing or unknown batch input shape", function () {
      expect(() => estimateFlops(graph, { x: [8, 784] })).to.throw(GraphShapeInferenceError, "no shape given");
      expect(() => estimateFlops(graph, { x: [8, 784], y: [8], z: [1] })).to.throw(GraphShapeInferenceError, "does not have");
    });

    it("rejects a batch shape that contradicts the declared input", function () {
      expect(() => estimateFlops(graph, { x: [8, 783], y: [8] })).to.throw(GraphShapeInferenceError, "does not fit");
      expect(() => estimateFlops(graph, { x: [8, 784, 1], y: [8] })).to.throw(GraphShapeInferenceError, "does not fit");
    });

    it("rejects a graph whose shapes do not broadcast", function () {
      const broken = externalLinearSgdGraph({ inputs: 20, classes: 5, biasLength: 7 });
      expect(() => estimateFlops(broken, { x: [4, 20], y: [4] })).to.throw(GraphShapeInferenceError, "do not broadcast");
    });

    it("rejects a Reshape whose target shape is computed at run time", function () {
      const m = onnx.ModelProto.decode(externalLinearSgdGraph({ inputs: 20, classes: 5 }));
      const g = m.graph as onnx.GraphProto;
      // The target shape comes from batch.y's values, unknown before running.
      g.node.splice(1, 0, onnx.NodeProto.create({ opType: "Reshape", name: "rs", input: ["z", "batch.y"], output: ["z2"] }));
      const bytes = onnx.ModelProto.encode(m).finish();
      expect(() => estimateFlops(bytes, { x: [4, 20], y: [4] })).to.throw(GraphShapeInferenceError, "must be a constant");
    });

    it("validates before inferring", function () {
      const m = onnx.ModelProto.decode(graph);
      (m.graph as onnx.GraphProto).node.splice(0, 0, onnx.NodeProto.create({ opType: "TopK", input: ["batch.x"], output: ["t"] }));
      expect(() => estimateFlops(onnx.ModelProto.encode(m).finish(), { x: [8, 784], y: [8] })).to.throw(GraphOpNotAllowedError);
    });
  });
});
