import { expect } from "chai";
import {
  ModelSpecError,
  buildStepGraph,
  defaultHyperparameters,
  hyperparameterNames,
  initState,
  stateLayout,
  validateStepGraph,
  type Activation,
  type ModelSpec,
  type OptimizerKind,
} from "../../../verifier/engine/onnx";
import { referenceGradients, referenceLoss, referenceStep, erf, type Params } from "../../../verifier/engine/reference";
import { StepRunner } from "../../../verifier/engine/runner";
import type { Tensor, TensorMap } from "../../../verifier/engine/tensor";
import { asF64, diffNorm, fillSlots, makeBatch, norm, updateRatio } from "../../helpers/onnxStep";

const ACTIVATIONS: Activation[] = ["relu", "tanh", "gelu"];
const OPTIMIZERS: OptimizerKind[] = ["sgd", "momentum", "adam"];

function bytesOf(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

describe("onnx step-graph builder", function () {
  describe("when building graphs", function () {
    for (const optimizer of OPTIMIZERS) {
      it(`produces a graph that passes validation with the state layout (${optimizer})`, function () {
        const spec: ModelSpec = { layers: [784, 16, 10], activation: "relu", optimizer };
        const info = validateStepGraph(buildStepGraph(spec));
        expect(info.state.map((s) => s.name)).to.deep.equal(stateLayout(spec).map((e) => e.name));
        expect(info.state.map((s) => s.dtype)).to.deep.equal(stateLayout(spec).map((e) => e.dtype));
        expect(info.hyperparameters).to.deep.equal([...hyperparameterNames(spec)].sort());
        expect(info.batch).to.deep.equal([
          { name: "x", dtype: "F32", shape: ["B", 784] },
          { name: "y", dtype: "I64", shape: ["B"] },
        ]);
        expect(info.opset).to.equal(17);
      });
    }

    it("is byte-for-byte reproducible", function () {
      const spec: ModelSpec = { layers: [20, 8, 8, 4], activation: "gelu", optimizer: "adam" };
      expect(Buffer.from(buildStepGraph(spec)).equals(Buffer.from(buildStepGraph(spec)))).to.equal(true);
    });

    it("rejects malformed specs with ModelSpecError", function () {
      const bad: unknown[] = [
        { layers: [784], activation: "relu", optimizer: "sgd" },
        { layers: [784, 0, 10], activation: "relu", optimizer: "sgd" },
        { layers: [784, 2.5, 10], activation: "relu", optimizer: "sgd" },
        { layers: [784, 10], activation: "swish", optimizer: "sgd" },
        { layers: [784, 10], activation: "relu", optimizer: "lion" },
      ];
      for (const spec of bad) expect(() => buildStepGraph(spec as ModelSpec)).to.throw(ModelSpecError);
    });
  });

  describe("when initialising state", function () {
    const spec: ModelSpec = { layers: [784, 32, 10], activation: "relu", optimizer: "adam" };

    it("is deterministic in the seed and differs across seeds", function () {
      const a = initState(spec, "seed-1");
      const b = initState(spec, "seed-1");
      const c = initState(spec, "seed-2");
      for (const [name, t] of a) expect(bytesOf(t).equals(bytesOf(b.get(name) as Tensor)), name).to.equal(true);
      expect(bytesOf(a.get("fc1.weight") as Tensor).equals(bytesOf(c.get("fc1.weight") as Tensor))).to.equal(false);
    });

    it("uses He-uniform bounds, zero biases and zero optimizer slots, sorted names", function () {
      const s = initState(spec, "seed");
      expect([...s.keys()]).to.deep.equal(stateLayout(spec).map((e) => e.name));
      const w = s.get("fc1.weight") as Tensor;
      expect(w.shape).to.deep.equal([32, 784]);
      const bound = Math.sqrt(6 / 784);
      const vals = Array.from(w.data as Float32Array);
      expect(Math.max(...vals.map(Math.abs))).to.be.at.most(bound);
      expect(Math.max(...vals.map(Math.abs))).to.be.above(0.9 * bound);
      const mean = vals.reduce((x, y) => x + y, 0) / vals.length;
      expect(Math.abs(mean)).to.be.below(0.05 * bound);
      expect(Array.from(s.get("fc1.bias")?.data as Float32Array).every((v) => v === 0)).to.equal(true);
      expect(Array.from(s.get("adam.m.fc2.weight")?.data as Float32Array).every((v) => v === 0)).to.equal(true);
      const step = s.get("adam.step") as Tensor;
      expect(step.dtype).to.equal("I64");
      expect(step.shape).to.deep.equal([]);
      expect((step.data as BigInt64Array)[0]).to.equal(0n);
    });

    it("uses Xavier bounds for tanh", function () {
      const s = initState({ layers: [100, 50], activation: "tanh", optimizer: "sgd" }, "seed");
      const vals = Array.from(s.get("fc1.weight")?.data as Float32Array);
      expect(Math.max(...vals.map(Math.abs))).to.be.at.most(Math.sqrt(6 / 150));
      expect(Math.max(...vals.map(Math.abs))).to.be.above(0.9 * Math.sqrt(6 / 150));
    });
  });

  describe("the float64 reference", function () {
    it("has an erf accurate to 1e-12 at known points", function () {
      const known: [number, number][] = [
        [0, 0],
        [0.5, 0.5204998778130465],
        [1, 0.8427007929497149],
        [2, 0.9953222650189527],
        [3.5, 0.9999992569016276],
        [-1.5, -0.9661051464753108],
        [5, 0.9999999999984626],
      ];
      for (const [x, v] of known) expect(erf(x)).to.be.closeTo(v, 1e-12);
    });

    for (const activation of ACTIVATIONS) {
      it(`has gradients that match central finite differences (${activation})`, function () {
        const spec: ModelSpec = { layers: [6, 5, 4, 3], activation, optimizer: "sgd" };
        // Random non-zero biases: zero biases put relu exactly on its kink when a sample's hidden units all die.
        const state = fillSlots(initState(spec, "fd"), "fc", -0.5, 0.5, "fd");
        const batch = makeBatch(5, 6, 3);
        const params: Params = new Map([...state].map(([n, t]) => [n, asF64(t)]));
        const { grads } = referenceGradients(spec, params, batch);
        const fd = finiteDifferences(spec, params, batch);
        for (const [name, g] of grads) {
          expect(diffNorm(g, fd.get(name) as Float64Array), name).to.be.below(1e-7 * norm(g) + 1e-10);
        }
      });
    }
  });

  describe("when running built graphs", function () {
    let runners: StepRunner[] = [];
    async function runner(spec: ModelSpec): Promise<StepRunner> {
      const r = await StepRunner.create({ graph: buildStepGraph(spec) });
      runners.push(r);
      return r;
    }
    after(async function () {
      for (const r of runners) await r.dispose();
      runners = [];
    });

    for (const activation of ACTIVATIONS) {
      it(`computes gradients that match finite differences of the float64 loss (${activation}, SGD lr=1)`, async function () {
        const spec: ModelSpec = { layers: [6, 5, 4, 3], activation, optimizer: "sgd" };
        const state = fillSlots(initState(spec, "grad-check"), "fc", -0.5, 0.5, "grad-check");
        const batch = makeBatch(5, 6, 3);
        const r = await runner(spec);
        const { next, loss } = await r.step(state, batch, { lr: 1 });
        const params: Params = new Map([...state].map(([n, t]) => [n, asF64(t)]));
        expect(loss).to.be.closeTo(referenceLoss(spec, params, batch), 1e-6 * Math.abs(loss) + 1e-7);
        const fd = finiteDifferences(spec, params, batch);
        for (const [name, w] of params) {
          const w2 = asF64(next.get(name) as Tensor);
          const g = w.map((v, i) => v - w2[i]); // lr = 1: W' = W − g
          const ref = fd.get(name) as Float64Array;
          expect(diffNorm(g, ref) / norm(ref), name).to.be.below(2e-5);
        }
      });
    }

    for (const optimizer of OPTIMIZERS) {
      for (const activation of ACTIVATIONS) {
        it(`matches the float64 reference for one ${optimizer} step (${activation})`, async function () {
          const spec: ModelSpec = { layers: [12, 9, 7, 4], activation, optimizer };
          let state = initState(spec, `one-step-${optimizer}-${activation}`);
          // Non-zero optimizer state exercises the momentum/moment paths and Adam's bias correction.
          state = fillSlots(state, "momentum.", -0.05, 0.05);
          state = fillSlots(state, "adam.m.", -0.01, 0.01);
          state = fillSlots(state, "adam.v.", 0, 1e-4);
          if (optimizer === "adam") state.set("adam.step", { dtype: "I64", shape: [], data: BigInt64Array.of(5n) });
          const batch = makeBatch(8, 12, 4, "one-step");
          const hp = { ...defaultHyperparameters(spec), lr: 0.01 };
          const r = await runner(spec);
          const got = await r.step(state, batch, hp);
          const ref = referenceStep(spec, state, batch, hp);
          expect(got.loss).to.be.closeTo(ref.loss, 1e-6 * ref.loss);
          expect([...got.next.keys()]).to.deep.equal([...ref.next.keys()]);
          for (const [name, t] of ref.next) {
            const g = got.next.get(name) as Tensor;
            expect(g.shape, name).to.deep.equal(t.shape);
            if (t.dtype === "I64") {
              expect(g.dtype).to.equal("I64");
              expect((g.data as BigInt64Array)[0], name).to.equal((t.data as BigInt64Array)[0]);
              continue;
            }
            expect(g.dtype, name).to.equal("F32");
            const ratio = updateRatio(t.data as Float64Array, asF64(g), asF64(state.get(name) as Tensor), 1e-4, 1e-6);
            expect(ratio, name).to.be.below(1);
          }
        });
      }
    }

    it("trains an MNIST-shaped Adam model for 3 steps in step with the reference", async function () {
      const spec: ModelSpec = { layers: [784, 32, 10], activation: "relu", optimizer: "adam" };
      const r = await runner(spec);
      const hp = defaultHyperparameters(spec);
      let state: TensorMap = initState(spec, "mnist-shaped");
      const losses: number[] = [];
      for (let s = 1; s <= 3; s++) {
        const batch = makeBatch(32, 784, 10, `b${s}`);
        const got = await r.step(state, batch, hp);
        const ref = referenceStep(spec, state, batch, hp);
        expect(got.loss).to.be.closeTo(ref.loss, 1e-5 * ref.loss);
        expect((got.next.get("adam.step")?.data as BigInt64Array)[0]).to.equal(BigInt(s));
        for (const name of ["fc1.weight", "fc2.weight", "adam.v.fc1.weight"]) {
          const ratio = updateRatio(
            ref.next.get(name)?.data as Float64Array,
            asF64(got.next.get(name) as Tensor),
            asF64(state.get(name) as Tensor),
            1e-3,
            1e-6,
          );
          expect(ratio, `${name} step ${s}`).to.be.below(1);
        }
        losses.push(got.loss);
        state = got.next;
      }
      expect(losses.every(Number.isFinite)).to.equal(true);
    });
  });
});

function finiteDifferences(spec: ModelSpec, params: Params, batch: TensorMap): Params {
  const out: Params = new Map();
  const h = 1e-6;
  for (const [name, w] of params) {
    const g = new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const orig = w[i];
      w[i] = orig + h;
      const lp = referenceLoss(spec, params, batch);
      w[i] = orig - h;
      const lm = referenceLoss(spec, params, batch);
      w[i] = orig;
      g[i] = (lp - lm) / (2 * h);
    }
    out.set(name, g);
  }
  return out;
}
