import { expect } from "chai";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepInputError, StepRunner } from "../../../verifier/engine/runner";
import { encodeState } from "../../../verifier/engine/step";
import { StepBudgetExceededError, StepProcessError, ProcessStepRunner, stepBudgetMs } from "../../../verifier/engine/processRunner";
import type { TensorMap } from "../../../verifier/engine/tensor";
import { TINY_SPEC, toyBatches, wideBatch } from "./helpers";

describe("ProcessStepRunner (steps in a killable child process, V8.3)", function () {
  this.timeout(180_000);
  const graph = buildStepGraph(TINY_SPEC);
  const hp = { ...defaultHyperparameters(TINY_SPEC), lr: 0.05 };
  const state = initState(TINY_SPEC, "tiny");
  const batch = toyBatches(1, 16)[0]!;

  it("gives the same bytes as the in-process StepRunner under the same settings", async function () {
    const local = await StepRunner.create({ graph, threads: 1, optLevel: "all" });
    const proc = await ProcessStepRunner.create({ graph, threads: 1, optLevel: "all", budget: { flopsPerStep: 1_000_000n } });
    try {
      const a = await local.step(state, batch, hp);
      const b = await proc.step(state, batch, hp);
      expect(Buffer.from(encodeState(b.next)).equals(Buffer.from(encodeState(a.next)))).to.equal(true);
      expect(Object.is(a.loss, b.loss)).to.equal(true);
      // A second step in the same process: the session stays open between steps.
      const c = await proc.step(b.next, batch, hp);
      expect(c.loss).to.be.a("number");
    } finally {
      await local.dispose();
      await proc.dispose();
    }
  });

  it("keeps StepInputError typed across the process boundary (a juror votes WorkerFault on it)", async function () {
    const proc = await ProcessStepRunner.create({ graph, budget: { flopsPerStep: 1_000_000n } });
    try {
      const bad: TensorMap = new Map(state);
      bad.delete([...bad.keys()][0]!);
      const err = await proc.step(bad, batch, hp).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(StepInputError);
      // The process survives a refused input.
      expect((await proc.step(state, batch, hp)).loss).to.be.a("number");
    } finally {
      await proc.dispose();
    }
  });

  it("kills a step that runs past its budget and reports StepBudgetExceededError; the runner refuses further steps", async function () {
    const spec: ModelSpec = { layers: [784, 512, 512, 10], activation: "relu", optimizer: "sgd" };
    const big = buildStepGraph(spec);
    // The declared FLOPs are honoured by a rate nobody reaches: the budget is ~1 ms plus base 20 ms.
    const proc = await ProcessStepRunner.create({ graph: big, budget: { flopsPerStep: 1_000_000n, minFlopsPerSecond: 1e9, baseMs: 20 } });
    expect(proc.stepBudgetMs).to.equal(21);
    const err = await proc.step(initState(spec, "big"), wideBatch(1024), defaultHyperparameters(spec)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(StepBudgetExceededError);
    expect((err as StepBudgetExceededError).details).to.deep.equal({ budgetMs: 21 });
    // The process is gone, not merely ignored.
    expect(() => process.kill(proc.pid, 0)).to.throw(/ESRCH/);
    const again = await proc.step(state, batch, hp).then(
      () => null,
      (e: unknown) => e,
    );
    expect(again).to.be.instanceOf(StepBudgetExceededError);
    await proc.dispose();
  });

  it("refuses to step after dispose", async function () {
    const proc = await ProcessStepRunner.create({ graph, budget: { flopsPerStep: 1_000_000n } });
    await proc.dispose();
    const err = await proc.step(state, batch, hp).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(StepProcessError);
  });

  it("reports a graph onnxruntime cannot open as a typed error from the process", async function () {
    const err = await ProcessStepRunner.create({ graph: Uint8Array.of(1, 2, 3), budget: { flopsPerStep: 1n } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err)
      .to.have.property("name")
      .that.matches(/^Graph/);
  });

  it("derives the budget from the declared FLOPs", function () {
    expect(stepBudgetMs({ flopsPerStep: 10n ** 9n })).to.equal(10_000 + 10_000);
    expect(stepBudgetMs({ flopsPerStep: 5n * 10n ** 9n, minFlopsPerSecond: 1e9, baseMs: 0 })).to.equal(5000);
    expect(stepBudgetMs({ flopsPerStep: 10n ** 19n })).to.equal(2 ** 31 - 1);
    expect(() => stepBudgetMs({ flopsPerStep: 0n })).to.throw(StepProcessError);
    expect(() => stepBudgetMs({ flopsPerStep: 1n, minFlopsPerSecond: 0 })).to.throw(StepProcessError);
  });
});
