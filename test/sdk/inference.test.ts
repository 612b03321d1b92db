/**
 * The inference graph cut from a step graph (engine/onnx/inference.ts) runs on onnxruntime and
 * predicts what the float64 reference forward pass predicts, for each activation, before and
 * after real training steps; its weights file holds the parameters and no optimizer slot.
 */
import { expect } from "chai";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../verifier/engine/onnx";
import { buildInferenceGraph, InferenceGraphError } from "../../verifier/engine/onnx/inference";
import { StepRunner } from "../../verifier/engine/runner";
import { evaluateMlp } from "../../verifier/engine/evaluate";
import { batchTensors, loadMnistDigits, mnistSplit } from "../../verifier/engine/data";
import { readSafetensors, writeSafetensors } from "../../verifier/engine/safetensors";
import { evaluateModel, mnistTestSet } from "../../verifier/sdk/evaluate";
import type { TensorMap } from "../../verifier/engine/tensor";

const SEED = `0x${"ab".repeat(32)}`;

describe("inference graph cut from the step graph", function () {
  this.timeout(120_000);
  const test = mnistTestSet(SEED);
  const testMap: TensorMap = new Map([
    ["x", { dtype: "F32", shape: [test.count, test.features], data: test.x }],
    ["y", { dtype: "I64", shape: [test.count], data: test.y }],
  ]);

  for (const spec of [
    { layers: [784, 16, 10], activation: "relu", optimizer: "sgd" },
    { layers: [784, 12, 8, 10], activation: "gelu", optimizer: "adam" },
    { layers: [784, 10], activation: "tanh", optimizer: "momentum" },
  ] as ModelSpec[]) {
    it(`${spec.layers.join("-")} ${spec.activation} ${spec.optimizer}: onnxruntime agrees with the float64 forward pass after 30 training steps`, async function () {
      const graph = buildStepGraph(spec);
      const runner = await StepRunner.create({ graph, threads: 1 });
      const digits = loadMnistDigits();
      // The training side of the job's split (the mnist package lists digits grouped by class).
      const train = mnistSplit(SEED, digits.count, 1000).train;
      let state = initState(spec, SEED);
      const hp = { ...defaultHyperparameters(spec), lr: spec.optimizer === "adam" ? 0.01 : 0.1 };
      for (let s = 0; s < 30; s++) {
        const batch = batchTensors(digits, train.subarray(s * 32, (s + 1) * 32));
        state = (await runner.step(state, batch, hp)).next;
      }
      const cut = buildInferenceGraph(graph, state);
      const onnx = await evaluateModel(cut.onnx, test);
      const ref = evaluateMlp(spec, state, testMap);
      expect(onnx.count).to.equal(1000);
      expect(Math.abs(onnx.accuracy - ref.accuracy)).to.be.at.most(0.002);
      expect(onnx.loss).to.be.closeTo(ref.loss, 1e-3);
      // Trained beyond chance on held-out digits (10 classes).
      expect(onnx.accuracy).to.be.greaterThan(0.3);
      // Weights only: no momentum/adam slots, each tensor bit-identical to the state's.
      const weights = readSafetensors(writeSafetensors(cut.weights));
      const names = [...weights.keys()].sort();
      expect(names).to.deep.equal(
        Array.from({ length: spec.layers.length - 1 }, (_, i) => [`fc${i + 1}.bias`, `fc${i + 1}.weight`])
          .flat()
          .sort(),
      );
      for (const n of names) expect(Buffer.from(weights.get(n)!.data.buffer).equals(Buffer.from(state.get(n)!.data.buffer))).to.equal(true);
    });
  }

  it("names what is missing: a state without a layer the forward pass reads", function () {
    const spec: ModelSpec = { layers: [784, 16, 10], activation: "relu", optimizer: "sgd" };
    const state = initState(spec, SEED);
    state.delete("fc2.weight");
    expect(() => buildInferenceGraph(buildStepGraph(spec), state)).to.throw(InferenceGraphError, /lacks a tensor.*fc2\.weight/);
  });

  it("refuses bytes that are not an ONNX step graph", function () {
    expect(() => buildInferenceGraph(Buffer.from("not a model"), new Map())).to.throw(InferenceGraphError);
  });
});
