import { expect } from "chai";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepInputError, StepRunner } from "../../../verifier/engine/runner";
import { encodeState } from "../../../verifier/engine/step";
import { StepBudgetExceededError, StepThreadError, ThreadStepRunner, stepBudgetMs } from "../../../verifier/engine/threadRunner";
import type { TensorMap } from "../../../verifier/engine/tensor";
import { TINY_SPEC, toyBatches } from "./helpers";

/** An MNIST-shaped batch of `B` rows (values do not matter for cost). */
export function wideBatch(B: number, inputs = 784): TensorMap {
  const x = new Float32Array(B * inputs);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000;
  const y = new BigInt64Array(B);
  for (let i = 0; i < B; i++) y[i] = BigInt(i % 10);
  return new Map([["x", { dtype: "F32", shape: [B, inputs], data: x }], ["y", { dtype: "I64", shape: [B], data: y }]]);
}

describe("ThreadStepRunner (steps off the event loop, V8.3)", function () {
  this.timeout(180_000);
  const graph = buildStepGraph(TINY_SPEC);
  const hp = { ...defaultHyperparameters(TINY_SPEC), lr: 0.05 };
  const state = initState(TINY_SPEC, "tiny");
  const batch = toyBatches(1, 16)[0]!;

  it("gives the same bytes as the in-process StepRunner under the same settings", async function () {
    const local = await StepRunner.create({ graph, threads: 1, optLevel: "all" });
    const thread = await ThreadStepRunner.create({ graph, threads: 1, optLevel: "all", budget: { flopsPerStep: 1_000_000n } });
    try {
      const a = await local.step(state, batch, hp);
      const b = await thread.step(state, batch, hp);
      expect(Buffer.from(encodeState(b.next)).equals(Buffer.from(encodeState(a.next)))).to.equal(true);
      expect(Object.is(a.loss, b.loss)).to.equal(true);
      // A second step on the same thread: the session stays open between steps.
      const c = await thread.step(b.next, batch, hp);
      expect(c.loss).to.be.a("number");
    } finally {
      await local.dispose();
      await thread.dispose();
    }
  });

  it("keeps StepInputError typed across the thread boundary (a juror votes WorkerFault on it)", async function () {
    const thread = await ThreadStepRunner.create({ graph, budget: { flopsPerStep: 1_000_000n } });
    try {
      const bad: TensorMap = new Map(state);
      bad.delete([...bad.keys()][0]!);
      const err = await thread.step(bad, batch, hp).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(StepInputError);
      // The thread survives a refused input.
      expect((await thread.step(state, batch, hp)).loss).to.be.a("number");
    } finally {
      await thread.dispose();
    }
  });

  it("kills a step that runs past its budget and reports StepBudgetExceededError; the runner refuses further steps", async function () {
    const spec: ModelSpec = { layers: [784, 512, 512, 10], activation: "relu", optimizer: "sgd" };
    const big = buildStepGraph(spec);
    // The declared FLOPs are honoured by a rate nobody reaches: the budget is ~1 ms plus base 20 ms.
    const thread = await ThreadStepRunner.create({ graph: big, budget: { flopsPerStep: 1_000_000n, minFlopsPerSecond: 1e9, baseMs: 20 } });
    expect(thread.stepBudgetMs).to.equal(21);
    const err = await thread.step(initState(spec, "big"), wideBatch(1024), defaultHyperparameters(spec)).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(StepBudgetExceededError);
    expect((err as StepBudgetExceededError).details).to.deep.equal({ budgetMs: 21 });
    const again = await thread.step(state, batch, hp).then(() => null, (e: unknown) => e);
    expect(again).to.be.instanceOf(StepBudgetExceededError);
    await thread.dispose();
  });

  it("refuses to step after dispose", async function () {
    const thread = await ThreadStepRunner.create({ graph, budget: { flopsPerStep: 1_000_000n } });
    await thread.dispose();
    const err = await thread.step(state, batch, hp).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(StepThreadError);
  });

  it("reports a graph onnxruntime cannot open as a typed error from the thread", async function () {
    const err = await ThreadStepRunner.create({ graph: Uint8Array.of(1, 2, 3), budget: { flopsPerStep: 1n } }).then(() => null, (e: unknown) => e);
    expect(err).to.have.property("name").that.matches(/^Graph/);
  });

  it("derives the budget from the declared FLOPs", function () {
    expect(stepBudgetMs({ flopsPerStep: 10n ** 9n })).to.equal(10_000 + 10_000);
    expect(stepBudgetMs({ flopsPerStep: 5n * 10n ** 9n, minFlopsPerSecond: 1e9, baseMs: 0 })).to.equal(5000);
    expect(stepBudgetMs({ flopsPerStep: 10n ** 19n })).to.equal(2 ** 31 - 1);
    expect(() => stepBudgetMs({ flopsPerStep: 0n })).to.throw(StepThreadError);
    expect(() => stepBudgetMs({ flopsPerStep: 1n, minFlopsPerSecond: 0 })).to.throw(StepThreadError);
  });
});
