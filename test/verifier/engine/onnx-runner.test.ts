import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { buildStepGraph, defaultHyperparameters, initState, validateStepGraph, type ModelSpec } from "../../../verifier/engine/onnx";
import { referenceStep } from "../../../verifier/engine/reference";
import { ExecutionProviderUnavailableError, GraphLoadError, StepInputError, StepRunner } from "../../../verifier/engine/runner";
import type { Tensor, TensorMap } from "../../../verifier/engine/tensor";
import { externalLinearSgdGraph } from "../../helpers/externalGraph";
import { asF64, makeBatch, updateRatio } from "../../helpers/onnxStep";

const SPEC: ModelSpec = { layers: [784, 24, 10], activation: "tanh", optimizer: "momentum" };

function sameBits(a: Tensor, b: Tensor): boolean {
  return Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(
    Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
  );
}

async function expectRejected(p: Promise<unknown>, type: new (...args: never[]) => Error, fragment: string): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${type.name}`).to.be.instanceOf(type);
  expect((err as Error).message).to.contain(fragment);
}

describe("onnx StepRunner", function () {
  const graph = buildStepGraph(SPEC);
  const state = initState(SPEC, "runner");
  const batch = makeBatch(16, 784, 10, "runner");
  const hp = defaultHyperparameters(SPEC);

  describe("when running on the CPU EP", function () {
    for (const threads of [1, 2]) {
      it(`passes the determinism self-check with ${threads} intra-op thread(s) and records its settings`, async function () {
        const r = await StepRunner.create({ graph, threads });
        try {
          const checked = await r.selfCheck(state, batch, hp);
          const again = await r.step(state, batch, hp);
          expect(checked.loss).to.equal(again.loss);
          for (const [name, t] of checked.next) expect(sameBits(t, again.next.get(name) as Tensor), name).to.equal(true);
          expect(r.settings).to.deep.include({
            ep: "cpu",
            intraOpNumThreads: threads,
            interOpNumThreads: 1,
            executionMode: "sequential",
            graphOptimizationLevel: "all",
          });
          expect(r.settings.configEntries["session.use_deterministic_compute"]).to.equal("1");
          expect(r.settings.ortVersion).to.match(/^1\.23\./);
        } finally {
          await r.dispose();
        }
      });
    }

    it("agrees within tolerance across optimization levels 'disabled' and 'all', each deterministic", async function () {
      const a = await StepRunner.create({ graph, optLevel: "disabled" });
      const b = await StepRunner.create({ graph, optLevel: "all" });
      try {
        const ra = await a.selfCheck(state, batch, hp);
        const rb = await b.selfCheck(state, batch, hp);
        expect(ra.loss).to.be.closeTo(rb.loss, 1e-5 * rb.loss);
        const w = "fc1.weight";
        const ratio = updateRatio(
          asF64(rb.next.get(w) as Tensor),
          asF64(ra.next.get(w) as Tensor),
          asF64(state.get(w) as Tensor),
          1e-3,
          1e-7,
        );
        expect(ratio).to.be.below(1);
      } finally {
        await a.dispose();
        await b.dispose();
      }
    });

    it("does not modify its inputs and returns copies", async function () {
      const r = await StepRunner.create({ graph });
      try {
        const before = new Map([...state].map(([n, t]) => [n, { ...t, data: t.data.slice() } as Tensor]));
        const out = await r.step(state, batch, hp);
        for (const [name, t] of state) expect(sameBits(t, before.get(name) as Tensor), name).to.equal(true);
        (out.next.get("fc1.weight")?.data as Float32Array).fill(0);
        const out2 = await r.step(state, batch, hp);
        expect((out2.next.get("fc1.weight")?.data as Float32Array).some((v) => v !== 0)).to.equal(true);
      } finally {
        await r.dispose();
      }
    });

    it("hands out outputs that no later step or release overwrites (they are not copied again)", async function () {
      const r = await StepRunner.create({ graph });
      const first = await r.step(state, batch, hp);
      const kept = new Map([...first.next].map(([n, t]) => [n, { ...t, data: t.data.slice() } as Tensor]));
      // Different inputs, so an output buffer reused by onnxruntime would change.
      const second = await r.step(first.next, makeBatch(16, 784, 10, "runner-2"), hp);
      expect(sameBits(second.next.get("fc1.weight") as Tensor, first.next.get("fc1.weight") as Tensor)).to.equal(false);
      await r.dispose();
      for (const [name, t] of first.next) {
        expect(sameBits(t, kept.get(name) as Tensor), name).to.equal(true);
        expect(t.data.buffer, name).to.not.equal(second.next.get(name)!.data.buffer);
      }
    });
  });

  describe("when inputs do not match the graph", function () {
    let r: StepRunner;
    before(async function () {
      r = await StepRunner.create({ graph });
    });
    after(async function () {
      await r.dispose();
    });

    it("rejects a missing or extra state tensor", async function () {
      const missing: TensorMap = new Map(state);
      missing.delete("momentum.fc2.bias");
      await expectRejected(r.step(missing, batch, hp), StepInputError, "momentum.fc2.bias");
      const extra: TensorMap = new Map(state);
      extra.set("zzz", { dtype: "F32", shape: [1], data: new Float32Array(1) });
      await expectRejected(r.step(extra, batch, hp), StepInputError, "zzz");
    });

    it("rejects wrong dtypes and shapes", async function () {
      const wrongType: TensorMap = new Map(state);
      wrongType.set("fc1.bias", { dtype: "F64", shape: [24], data: new Float64Array(24) });
      await expectRejected(r.step(wrongType, batch, hp), StepInputError, "wrong dtype");
      const wrongShape: TensorMap = new Map(state);
      wrongShape.set("fc1.bias", { dtype: "F32", shape: [23], data: new Float32Array(23) });
      await expectRejected(r.step(wrongShape, batch, hp), StepInputError, "wrong shape");
      const badBatch: TensorMap = new Map(batch);
      badBatch.set("x", { dtype: "F32", shape: [16, 783], data: new Float32Array(16 * 783) });
      await expectRejected(r.step(state, badBatch, hp), StepInputError, "wrong shape");
    });

    it("rejects missing or non-finite hyperparameters", async function () {
      await expectRejected(r.step(state, batch, { lr: 0.1 }), StepInputError, "momentum");
      await expectRejected(r.step(state, batch, { lr: Number.NaN, momentum: 0.9 }), StepInputError, "finite");
    });
  });

  describe("when the execution provider or options are unusable", function () {
    it("says clearly that CUDA is unavailable", async function () {
      const cuda = ort.listSupportedBackends().find((b) => b.name === "cuda");
      if (cuda?.bundled) this.skip();
      await expectRejected(StepRunner.create({ graph, ep: "cuda" }), ExecutionProviderUnavailableError, "'cuda'");
    });

    it("says clearly that WebGPU is unavailable when no adapter exists", async function () {
      let runner: StepRunner | undefined;
      let err: unknown;
      try {
        runner = await StepRunner.create({ graph, ep: "webgpu" });
      } catch (e) {
        err = e;
      }
      if (runner) {
        await runner.dispose();
        this.skip(); // a WebGPU adapter exists on this machine
      }
      expect(err).to.be.instanceOf(ExecutionProviderUnavailableError);
      expect((err as Error).message).to.contain("'webgpu'");
    });

    it("rejects unknown EPs and bad thread counts", async function () {
      await expectRejected(
        StepRunner.create({ graph, ep: "tpu" as "cpu" }),
        ExecutionProviderUnavailableError,
        "unknown execution provider",
      );
      await expectRejected(StepRunner.create({ graph, threads: 0 }), StepInputError, "threads");
    });
  });

  describe("when the graph was written by another tool", function () {
    const ext = externalLinearSgdGraph({ inputs: 20, classes: 5 });

    it("passes validation with its own names", function () {
      const info = validateStepGraph(ext);
      expect(info.state.map((s) => s.name)).to.deep.equal(["linear.b", "linear.w"]);
      expect(info.hyperparameters).to.deep.equal(["learning_rate"]);
      expect(info.opset).to.equal(13);
    });

    it("runs through the same runner and matches the float64 reference of the same model", async function () {
      const spec: ModelSpec = { layers: [20, 5], activation: "relu", optimizer: "sgd" };
      const init = initState(spec, "external");
      const wOut = init.get("fc1.weight")?.data as Float32Array; // [5, 20]
      const wIn = new Float32Array(20 * 5);
      for (let o = 0; o < 5; o++) for (let i = 0; i < 20; i++) wIn[i * 5 + o] = wOut[o * 20 + i];
      const bias = Float32Array.from({ length: 5 }, (_, i) => 0.1 * (i - 2));
      const extState: TensorMap = new Map<string, Tensor>([
        ["linear.b", { dtype: "F32", shape: [5], data: bias }],
        ["linear.w", { dtype: "F32", shape: [20, 5], data: wIn }],
      ]);
      const b = makeBatch(12, 20, 5, "external");
      const r = await StepRunner.create({ graph: ext, threads: 1 });
      try {
        const got = await r.selfCheck(extState, b, { learning_rate: 0.5 });
        const refState: TensorMap = new Map<string, Tensor>([
          ["fc1.weight", init.get("fc1.weight") as Tensor],
          ["fc1.bias", { dtype: "F32", shape: [5], data: bias }],
        ]);
        const ref = referenceStep(spec, refState, b, { lr: 0.5 });
        expect(got.loss).to.be.closeTo(ref.loss, 1e-5 * ref.loss);
        const refW = ref.next.get("fc1.weight")?.data as Float64Array;
        const refWIn = new Float64Array(100);
        for (let o = 0; o < 5; o++) for (let i = 0; i < 20; i++) refWIn[i * 5 + o] = refW[o * 20 + i];
        expect(updateRatio(refWIn, asF64(got.next.get("linear.w") as Tensor), wIn, 1e-4, 1e-6)).to.be.below(1);
        expect(
          updateRatio(ref.next.get("fc1.bias")?.data as Float64Array, asF64(got.next.get("linear.b") as Tensor), bias, 1e-4, 1e-6),
        ).to.be.below(1);
      } finally {
        await r.dispose();
      }
    });

    it("reports a graph that validates but onnxruntime refuses as GraphLoadError", async function () {
      const broken = externalLinearSgdGraph({ inputs: 20, classes: 5, biasLength: 7 });
      expect(() => validateStepGraph(broken)).not.to.throw();
      await expectRejected(StepRunner.create({ graph: broken }), GraphLoadError, "could not load");
    });
  });
});
