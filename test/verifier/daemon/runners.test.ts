/**
 * V8.3: while a verifier runs a step, its event loop stays free (ticks, reveals and pinpoints of
 * other disputes go on). The one timing assertion the issue asks for: the longest event-loop gap
 * while a step of ≥ 1 s runs through the daemon's runner factory is < 100 ms. The same probe is
 * first shown to see the block when the step runs in process, so it cannot pass vacuously. (A
 * perf_hooks histogram was tried: on this loaded machine it reported 47 ms on an idle loop and
 * maxima the timer probe never saw; the probe measures the thing itself.)
 */
import { expect } from "chai";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepRunner } from "../../../verifier/engine/runner";
import { onnxRunnerFactory } from "../../../verifier/daemon/check/runners";
import { deriveStepCost } from "../../../verifier/engine/costModel";
import { wideBatch } from "../engine/helpers";

/**
 * Longest gap between the ticks of a 5 ms timer while `f` runs: any stretch in which the loop could
 * not run a timer (a blocking call, a long GC, the OS not scheduling us) shows up as a gap.
 */
async function longestGap<T>(f: () => Promise<T>): Promise<{ value: T; gapMs: number; ms: number }> {
  let last = performance.now();
  const t0 = last;
  let gap = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 5);
  try {
    const value = await f();
    const end = performance.now();
    return { value, gapMs: Math.max(gap, end - last), ms: end - t0 };
  } finally {
    clearInterval(probe);
  }
}

describe("verifier daemon: steps never block the event loop (V8.3)", function () {
  this.timeout(600_000);
  const spec: ModelSpec = { layers: [784, 1024, 1024, 10], activation: "relu", optimizer: "sgd" };
  const graph = buildStepGraph(spec);
  const state = initState(spec, "big");
  const hp = defaultHyperparameters(spec);

  it("a ≥ 1 s step through the daemon's runner factory leaves no event-loop gap of 100 ms", async function () {
    // Grow the batch until one in-process step takes ≥ 1.5 s here; the probe must see that block.
    let B = 256;
    let local;
    const inProcess = await StepRunner.create({ graph, threads: 1, optLevel: "all" });
    try {
      for (;;) {
        const batch = wideBatch(B);
        local = await longestGap(() => inProcess.step(state, batch, hp));
        if (local.ms >= 1500 || B >= 16_384) break;
        B *= 2;
      }
    } finally {
      await inProcess.dispose();
    }
    expect(local.ms).to.be.at.least(1000);
    expect(local.gapMs, "the probe sees an in-process step block the loop").to.be.at.least(0.5 * local.ms);

    const batch = wideBatch(B);
    const flopsPerStep = deriveStepCost(graph, B).flopsPerStep;
    const runner = await onnxRunnerFactory(graph, { threads: 1, optLevel: "all" }, { flopsPerStep });
    try {
      await runner.step(state, batch, hp); // warm-up: the first run of a session allocates its arena
      const remote = await longestGap(() => runner.step(state, batch, hp));
      console.log(`      batch ${B}, ${flopsPerStep} FLOPs: in process ${local.ms.toFixed(0)} ms (gap ${local.gapMs.toFixed(0)} ms); child process ${remote.ms.toFixed(0)} ms, longest gap ${remote.gapMs.toFixed(1)} ms`);
      expect(remote.ms).to.be.at.least(1000);
      expect(remote.gapMs).to.be.below(100);
      expect(Number.isFinite(remote.value.loss)).to.equal(true);
    } finally {
      await runner.dispose();
    }
  });
});
