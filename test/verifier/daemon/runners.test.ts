/**
 * V8.3: while a verifier runs a step, its event loop stays free (ticks, reveals and pinpoints of
 * other disputes go on). The one timing assertion the issue asks for: the longest stretch the event
 * loop is blocked while a step of ≥ 1 s runs through the daemon's runner factory is < 100 ms. The
 * same probe is first shown to see the block when the step runs in process, so it cannot pass
 * vacuously. A stretch counts as blocked for as long as this process used CPU during it: on a
 * loaded machine the OS may not schedule an idle process for 150 ms, which is not our loop blocking
 * (CI failed on that). (A perf_hooks histogram was tried: on this loaded machine it reported 47 ms on
 * an idle loop and maxima the timer probe never saw; the probe measures the thing itself.)
 */
import { expect } from "chai";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepRunner } from "../../../verifier/engine/runner";
import { onnxRunnerFactory } from "../../../verifier/daemon/check/runners";
import { deriveStepCost } from "../../../verifier/engine/costModel";
import { wideBatch } from "../engine/helpers";

/**
 * Longest gap between the ticks of a 5 ms timer while `f` runs (any stretch in which the loop could
 * not run a timer: a blocking call, a long GC, the OS not scheduling us), and the longest blocked
 * stretch: a gap counted only up to the CPU time this process used during it, which leaves out the
 * time the OS ran others.
 */
async function longestGap<T>(f: () => Promise<T>): Promise<{ value: T; gapMs: number; blockedMs: number; ms: number }> {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  const t0 = last;
  let gap = 0;
  let blocked = 0;
  const tick = (): void => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    gap = Math.max(gap, now - last);
    blocked = Math.max(blocked, Math.min(now - last, (cpu.user + cpu.system) / 1000));
    last = now;
    lastCpu = process.cpuUsage();
  };
  const probe = setInterval(tick, 5);
  try {
    const value = await f();
    tick();
    return { value, gapMs: gap, blockedMs: blocked, ms: performance.now() - t0 };
  } finally {
    clearInterval(probe);
  }
}

describe("verifier daemon: steps never block the event loop (V8.3)", function () {
  this.timeout(600_000);
  // A modest state (4.8 MB) and a large batch: the parent's own garbage (replies) stays small, so a
  // GC pause of this (large, hardhat) test process does not pass for a blocked loop.
  const spec: ModelSpec = { layers: [784, 512, 512, 512, 512, 10], activation: "relu", optimizer: "sgd" };
  const graph = buildStepGraph(spec);
  const state = initState(spec, "big");
  const hp = defaultHyperparameters(spec);

  it("a ≥ 1 s step through the daemon's runner factory never blocks the event loop for 100 ms", async function () {
    const inProcess = await StepRunner.create({ graph, threads: 1, optLevel: "all" });
    const runner = await onnxRunnerFactory(
      graph,
      { threads: 1, optLevel: "all" },
      { flopsPerStep: deriveStepCost(graph, 32_768).flopsPerStep },
    );
    try {
      // Size the batch from a warm in-process step so that one step takes ~2.5 s here, then grow it
      // while a measured step still takes under 1.5 s (a probe slowed by load sizes it too small).
      const probeBatch = wideBatch(512);
      await inProcess.step(state, probeBatch, hp);
      const small = await longestGap(() => inProcess.step(state, probeBatch, hp));
      let B = 512;
      while (B < 32_768 && (small.ms * B) / 512 < 2500) B *= 2;
      let batch = wideBatch(B);
      // The same probe sees an in-process step block the loop: it cannot pass vacuously.
      let local = await longestGap(() => inProcess.step(state, batch, hp));
      while (B < 32_768 && local.ms < 1500) {
        B *= 2;
        batch = wideBatch(B);
        local = await longestGap(() => inProcess.step(state, batch, hp));
      }
      await runner.step(state, batch, hp); // warm-up: the first run of a session allocates its arena
      const remote = await longestGap(() => runner.step(state, batch, hp));
      console.log(
        `      batch ${B}, ${deriveStepCost(graph, B).flopsPerStep} FLOPs: child process ${remote.ms.toFixed(0)} ms, longest gap ${remote.gapMs.toFixed(1)} ms (blocked ${remote.blockedMs.toFixed(1)}); in process ${local.ms.toFixed(0)} ms, gap ${local.gapMs.toFixed(0)} ms (blocked ${local.blockedMs.toFixed(0)})`,
      );
      expect(local.ms).to.be.at.least(1000);
      expect(local.gapMs).to.be.at.least(0.5 * local.ms);
      expect(local.blockedMs, "the CPU-time measure sees an in-process step block the loop").to.be.at.least(500);
      expect(remote.ms).to.be.at.least(1000);
      expect(remote.blockedMs).to.be.below(100);
      expect(Number.isFinite(remote.value.loss)).to.equal(true);
    } finally {
      await inProcess.dispose();
      await runner.dispose();
    }
  });
});
