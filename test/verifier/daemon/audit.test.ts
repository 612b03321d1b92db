/**
 * The audit with single-step checks (v3 V7.2) and the tightened δ_k (V7.3), on real onnxruntime
 * runs of MNIST MLPs and a real store server: honest work replayed under another setting passes
 * both checks; a step perturbed between the single-step and the interval bound is flagged by the
 * single-step check only; states that are refused to us, wrong, or unreachable are handled as such.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { ethers } from "ethers";
import pino from "pino";
import { batchOrder, buildMnistDataset } from "../../../verifier/engine/data";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepRunner, type GraphOptimizationLevel } from "../../../verifier/engine/runner";
import { readSafetensors } from "../../../verifier/engine/safetensors";
import { contentAddress, encodeState, hashStateBytes } from "../../../verifier/engine/step";
import type { TensorMap } from "../../../verifier/engine/tensor";
import { compareInterval, compareStates } from "../../../verifier/engine/tolerance";
import { DELTA_K_PROCEDURE } from "../../../verifier/engine/calibrate";
import { LocalStore, startStoreServer, type StoreServerHandle } from "../../../verifier/store";
import { buildResultIndex, type IndexedState, type ResultIndex } from "../../../verifier/protocol/resultIndex";
import { DEFAULT_JOB_TOLERANCE, DEFAULT_MODEL } from "../../../verifier/requester/createJob";
import { applyCheat, noisyStep, type CheatMode } from "../../../verifier/worker/cheats";
import { ArtifactClient } from "../../../verifier/daemon/check/artifacts";
import { runAudit } from "../../../verifier/daemon/check/audit";
import { onnxRunnerFactory, type RunnerSettingsChoice } from "../../../verifier/daemon/check/runners";
import type { JobSpec } from "../../../verifier/daemon/check/spec";
import { ArtifactProblemError, ArtifactsUnreachableError, StateRequestRefusedError } from "../../../verifier/daemon/errors";

const SEED = ethers.id("verifier-test-seed");
/**
 * Between the bounds for DEFAULT_MODEL, batch 16, T 16, k 8 at δ_upd 3·10⁻³, δ_k 6·10⁻³: single-step
 * ratio 1.35–1.39, interval ≈ 0.17, over 800 noise keys. Not larger: from ≈ 7·10⁻⁶ on, the noise
 * flips a first-layer ReLU for some keys (1 in 400 at 7·10⁻⁶, 1 in 9 at 1.5·10⁻⁵) and fc1.bias then
 * fails the interval at ratio 6, so the interval check would fire first.
 */
const BETWEEN_BOUNDS = 6e-6;

interface Trained {
  spec: JobSpec;
  index: ResultIndex;
  states: TensorMap[];
}

describe("verifier daemon: audit with single-step checks (V7.2, V7.3)", function () {
  this.timeout(180_000);
  let tmp: string;
  let server: StoreServerHandle;
  let store: LocalStore;
  let lines: string[];

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-audit-"));
    store = await LocalStore.open(path.join(tmp, "worker-store"));
    server = await startStoreServer({ store });
  });
  after(async function () {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  /** A worker's run under `settings` (cheat optional), every state in the served store, and its result index. */
  async function train(o: {
    model: ModelSpec;
    batchSize: number;
    T: number;
    k: number;
    settings: RunnerSettingsChoice;
    cheat?: CheatMode;
  }): Promise<Trained> {
    const ds = buildMnistDataset({ seed: SEED, batchSize: o.batchSize, maxBatches: 4, testSize: 100 });
    const batch = (t: number): TensorMap => readSafetensors(ds.batches[batchOrder(SEED, ds.numBatches, t)]!);
    const graph = buildStepGraph(o.model);
    const hp = defaultHyperparameters(o.model);
    const honest = await StepRunner.create({ graph, threads: o.settings.threads, optLevel: o.settings.optLevel });
    const run = applyCheat(o.cheat ?? null, { runner: honest, batches: batch }, { key: "audit-test", T: o.T, k: o.k });
    const states = [initState(o.model, SEED)];
    const indexed: IndexedState[] = [];
    try {
      for (let t = 0; t <= o.T; t++) {
        if (t > 0) states.push((await run.runner.step(states[t - 1]!, await run.batches(t - 1), hp)).next);
        const bytes = encodeState(states[t]!);
        await store.put(bytes);
        indexed.push({ stateHash: hashStateBytes(bytes), sha256: contentAddress(bytes) });
      }
    } finally {
      await honest.dispose();
    }
    const intervals = Array.from({ length: o.T / o.k }, (_, i) => indexed.slice(i * o.k, (i + 1) * o.k + 1));
    const index = buildResultIndex({
      jobId: 1n,
      specHash: `0x${"00".repeat(32)}`,
      T: o.T,
      k: o.k,
      intervals,
      artifactBaseUrls: [server.url],
    });
    const spec: JobSpec = {
      manifest: {} as JobSpec["manifest"],
      graph,
      hp,
      tolerance: DEFAULT_JOB_TOLERANCE,
      T: o.T,
      k: o.k,
      maxStateBytes: 16 << 20,
      stepBudget: { flopsPerStep: 10n ** 9n },
      batch: async (t) => batch(t),
    };
    return { spec, index, states };
  }

  async function audit(
    job: Trained,
    o: {
      settings?: RunnerSettingsChoice;
      singleSteps?: (i: number) => number[];
      fetchStepState?: Parameters<typeof runAudit>[0]["fetchStepState"];
      unreachable?: "defer";
    } = {},
  ) {
    lines = [];
    const sink = new Writable({
      write: (c, _e, cb) => {
        lines.push(String(c));
        cb();
      },
    });
    const client = new ArtifactClient({
      store: await LocalStore.open(path.join(tmp, `cache-${Math.random()}`)),
      logger: pino({ level: "silent" }),
      retries: 0,
      timeoutMs: 5_000,
      urlPolicy: { allowPrivate: true },
    });
    return runAudit({
      spec: job.spec,
      index: job.index,
      sample: job.index.intervals.map((_, i) => i),
      client,
      runners: onnxRunnerFactory,
      settings: o.settings ?? { threads: 1, optLevel: "all" },
      signal: new AbortController().signal,
      logger: pino({ level: "info" }, sink),
      ...(o.singleSteps ? { singleSteps: o.singleSteps } : {}),
      ...(o.fetchStepState ? { fetchStepState: o.fetchStepState } : {}),
      ...(o.unreachable ? { unreachable: o.unreachable } : {}),
    });
  }
  const everyStep = (k: number) => () => Array.from({ length: k }, (_, j) => j);

  describe("when the worker is honest", function () {
    it("passes both checks when replayed under another setting (784-128-10 Adam, batch 64: settings that really differ)", async function () {
      const model: ModelSpec = { layers: [784, 128, 10], activation: "relu", optimizer: "adam" };
      const workerSetting: RunnerSettingsChoice = { threads: 1, optLevel: "all" };
      const auditorSetting: RunnerSettingsChoice = { threads: 2, optLevel: "basic" as GraphOptimizationLevel };
      const job = await train({ model, batchSize: 64, T: 16, k: 8, settings: workerSetting });
      const outcome = await audit(job, { settings: auditorSetting, singleSteps: everyStep(8) });
      expect(outcome.kind, JSON.stringify(outcome)).to.equal("passed");
      expect(lines.join("")).to.include("audit: single step checked");

      // The margin, measured: the two settings are not bit-identical, and the honest drift stays far
      // below the tightened δ_k (≤ 0.1 of it, the calibration's factor) and the single-step bound.
      const other = await StepRunner.create({ graph: job.spec.graph, threads: auditorSetting.threads, optLevel: auditorSetting.optLevel });
      try {
        let s = job.states[0]!;
        let identical = true;
        let worstStep = 0;
        for (let t = 0; t < 8; t++) {
          const a = (await other.step(job.states[t]!, await job.spec.batch(t), job.spec.hp)).next;
          worstStep = Math.max(worstStep, compareStates(job.states[t]!, a, job.states[t + 1]!, DEFAULT_JOB_TOLERANCE).worstRatio);
          s = (await other.step(s, await job.spec.batch(t), job.spec.hp)).next;
          identical &&= Buffer.from(encodeState(a)).equals(Buffer.from(encodeState(job.states[t + 1]!)));
        }
        expect(identical, "the two settings must differ for this test to measure drift").to.equal(false);
        const interval = compareInterval(job.states[0]!, s, job.states[8]!, DEFAULT_JOB_TOLERANCE);
        expect(interval.worstRatio).to.be.at.most(0.1);
        expect(worstStep).to.be.at.most(0.5);
        expect(DEFAULT_JOB_TOLERANCE.deltaKUpd).to.equal(DELTA_K_PROCEDURE.floors.deltaKUpd);
      } finally {
        await other.dispose();
      }
    });
  });

  describe("when one step is perturbed above the single-step bound but below the interval bound", function () {
    let job: Trained;
    const T = 16,
      k = 8;
    const bad = noisyStep(T, k); // its result S_{bad+1} is perturbed: interval 1, local step 4

    before(async function () {
      job = await train({
        model: DEFAULT_MODEL,
        batchSize: 16,
        T,
        k,
        settings: { threads: 1, optLevel: "all" },
        cheat: { kind: "noise", magnitude: BETWEEN_BOUNDS },
      });
      // The premise, checked: the interval replay alone passes and a juror's single step convicts.
      const runner = await StepRunner.create({ graph: job.spec.graph, threads: 1 });
      try {
        const a = (await runner.step(job.states[bad]!, await job.spec.batch(bad), job.spec.hp)).next;
        expect(compareStates(job.states[bad]!, a, job.states[bad + 1]!, DEFAULT_JOB_TOLERANCE).worstRatio).to.be.greaterThan(1.2);
      } finally {
        await runner.dispose();
      }
    });

    it("the interval replay alone passes it (what v2 audits did)", async function () {
      const outcome = await audit(job);
      expect(outcome.kind).to.equal("passed");
    });

    it("the single-step check flags its interval, naming the step", async function () {
      const outcome = await audit(job, { singleSteps: (i) => (i === 1 ? [bad - k] : [0]) });
      expect(outcome.kind).to.equal("failed");
      if (outcome.kind !== "failed") return;
      expect(outcome.failedIntervals).to.deep.equal([1]);
      expect(outcome.reason).to.match(new RegExp(`^interval 1: single step ${bad}: `));
    });

    it("a step the audit did not choose is not checked", async function () {
      expect((await audit(job, { singleSteps: () => [0, 7] })).kind).to.equal("passed");
    });

    it("a step state the worker refuses to us (not a party) skips that step's check only", async function () {
      const refused = async (): Promise<never> => {
        throw new StateRequestRefusedError("refused", 403);
      };
      const outcome = await audit(job, { singleSteps: (i) => (i === 1 ? [bad - k] : []), fetchStepState: refused });
      expect(outcome.kind).to.equal("passed");
      expect(lines.join("")).to.include("refused to us");
    });

    it("a step state with wrong bytes fails the interval; an unreachable one defers the audit", async function () {
      const wrong = async (): Promise<never> => {
        throw new ArtifactProblemError("state does not match its committed hash", { unavailable: true });
      };
      const failed = await audit(job, { singleSteps: () => [2], fetchStepState: wrong });
      expect(failed.kind).to.equal("failed");
      const gone = async (): Promise<never> => {
        throw new ArtifactProblemError("state could not be fetched", { unavailable: true, transient: true });
      };
      const err = await audit(job, { singleSteps: () => [2], fetchStepState: gone, unreachable: "defer" }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ArtifactsUnreachableError);
    });
  });
});
