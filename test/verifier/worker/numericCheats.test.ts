/**
 * The numeric cheat modes on the real engine: MNIST MLP 784-128-10, Adam, batch 64 (the model the
 * in-tolerance measurements were made on), real onnxruntime. The worker runs cpu/opt=all; the juror
 * recomputes with cpu/opt=disabled and compares with the §10.3 single-step rule at the floors.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_FLOORS } from "../../../verifier/engine/calibrate";
import { batchOrder, batchTensors, loadMnistDigits, mnistSplit } from "../../../verifier/engine/data";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepRunner } from "../../../verifier/engine/runner";
import { encodeState, type BatchSource, type StepExecutor } from "../../../verifier/engine/step";
import type { TensorMap } from "../../../verifier/engine/tensor";
import { compareStates, type ComparisonReport } from "../../../verifier/engine/tolerance";
import { train } from "../../../verifier/engine/trainer";
import { applyCheat, parseCheatMode, type CheatMode, CheatModeError } from "../../../verifier/worker/cheats";
import {
  computeSaved,
  NumericCheatError,
  partialBatch,
  roundArray,
  roundTensors,
  type NumericCheatMode,
} from "../../../verifier/worker/numericCheats";

const SPEC: ModelSpec = { layers: [784, 128, 10], activation: "relu", optimizer: "adam" };
const BATCH = 64;
const SEED = `0x${"c4".repeat(32)}` as const;
const BOUNDS = { deltaUpd: DEFAULT_FLOORS.deltaUpd, deltaUlp: DEFAULT_FLOORS.deltaUlp };
const JOB = { key: "job-7:0xspec", T: 40, k: 4, bounds: BOUNDS };
const WARM = 20; // steps of honest training first, so Adam's moments are not zero

const f32 = (m: TensorMap, name: string): Float32Array => m.get(name)!.data as Float32Array;
const same = (a: TensorMap, b: TensorMap): boolean => Buffer.from(encodeState(a)).equals(Buffer.from(encodeState(b)));
/** Bit equality of float arrays (chai's deep equality is far too slow on 10⁵ elements). */
const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe("worker/numericCheats (in-tolerance cheats as worker modes)", function () {
  this.timeout(120_000);
  let worker: StepRunner;
  let juror: StepRunner;
  let batches: BatchSource;
  const hp = defaultHyperparameters(SPEC);
  let S: TensorMap; // the state before global step WARM

  before(async function () {
    const graph = buildStepGraph(SPEC);
    worker = await StepRunner.create({ graph, threads: 1, optLevel: "all" });
    juror = await StepRunner.create({ graph, threads: 1, optLevel: "disabled" });
    const digits = loadMnistDigits();
    const { train: rows } = mnistSplit(SEED, digits.count, 1000);
    const n = Math.floor(rows.length / BATCH);
    batches = (t) => batchTensors(digits, rows.subarray(batchOrder(SEED, n, t) * BATCH, (batchOrder(SEED, n, t) + 1) * BATCH));
    S = initState(SPEC, SEED);
    for (let t = 0; t < WARM; t++) S = (await worker.step(S, await batches(t), hp)).next;
  });
  after(async function () {
    await worker.dispose();
    await juror.dispose();
  });

  /** The cheating worker's S_{t+1} from `state` at global step t (the batch source is called first, as the trainer does). */
  async function cheatStep(c: { runner: StepExecutor; batches: BatchSource }, state: TensorMap, t: number): Promise<TensorMap> {
    const batch = await c.batches(t);
    return (await c.runner.step(state, batch, hp)).next;
  }
  /** A juror's single-step comparison of the claimed S_{t+1}: its own recomputation from the claimed S_t. */
  async function judge(state: TensorMap, claimed: TensorMap, t: number): Promise<ComparisonReport> {
    const a = (await juror.step(state, await batches(t), hp)).next;
    return compareStates(state, a, claimed, BOUNDS);
  }
  const cheat = (mode: NumericCheatMode) => applyCheat(mode, { runner: worker, batches }, JOB);

  describe("parsing (--cheat)", function () {
    it("parses every numeric mode through the worker's parseCheatMode", function () {
      expect(parseCheatMode("precision=fp16")).to.deep.equal({ kind: "precision", format: "fp16" });
      expect(parseCheatMode("precision=bf16")).to.deep.equal({ kind: "precision", format: "bf16" });
      expect(parseCheatMode("precision=tf32")).to.deep.equal({ kind: "precision", format: "tf32" });
      expect(parseCheatMode("partial=0.875")).to.deep.equal({ kind: "partial", keep: 0.875 });
      expect(parseCheatMode("reuse")).to.deep.equal({ kind: "reuse" });
      expect(parseCheatMode("noupdate")).to.deep.equal({ kind: "noupdate" });
      expect(parseCheatMode("drift=0.9")).to.deep.equal({ kind: "drift", multiple: 0.9 });
    });
    it("refuses bad values naming the mode, and still refuses unknown modes", function () {
      for (const bad of ["precision=fp8", "precision=", "partial=1", "partial=0", "partial=x", "drift=0", "drift=-1", "drift=inf"]) {
        expect(() => parseCheatMode(bad), bad).to.throw(NumericCheatError, bad.split("=")[0]!);
      }
      expect(() => parseCheatMode("reuse=2")).to.throw(CheatModeError);
      expect(() => parseCheatMode("lie")).to.throw(CheatModeError);
    });
    it("states the compute each mode saves", function () {
      expect(computeSaved({ kind: "partial", keep: 0.875 }, 10).fraction).to.equal(0.125);
      expect(computeSaved({ kind: "reuse" }, 10).fraction).to.equal(0.5);
      expect(computeSaved({ kind: "reuse" }, 5).fraction).to.equal(0.4);
      expect(computeSaved({ kind: "noupdate" }, 10).fraction).to.equal(1);
      expect(computeSaved({ kind: "drift", multiple: 0.9 }, 10).fraction).to.equal(0);
      for (const format of ["fp16", "bf16", "tf32"] as const)
        expect(computeSaved({ kind: "precision", format }, 10).fraction).to.be.greaterThan(0.8);
    });
  });

  describe("rounding", function () {
    it("rounds to nearest even in each format and keeps Inf/NaN", function () {
      const x = new Float32Array([
        1 + 2 ** -8,
        1 + 3 * 2 ** -8,
        1 + 2 ** -11,
        1 + 3 * 2 ** -11,
        1 + 2 ** -10,
        70000,
        Infinity,
        NaN,
        -(1 + 3 * 2 ** -11),
      ]);
      const bf = roundArray("bf16", x);
      expect([bf[0], bf[1]]).to.deep.equal([1, 1 + 2 ** -6]);
      const tf = roundArray("tf32", x);
      expect([tf[2], tf[3], tf[4], tf[5], tf[8]]).to.deep.equal([1, 1 + 2 ** -9, 1 + 2 ** -10, 70016, -(1 + 2 ** -9)]);
      const h = roundArray("fp16", x);
      expect([h[2], h[3], h[5], h[6]]).to.deep.equal([1, 1 + 2 ** -9, Infinity, Infinity]);
      for (const r of [bf, tf, h]) expect(Number.isNaN(r[7])).to.equal(true);
    });
  });

  describe("honest mode", function () {
    it("no cheat and withhold leave the runner and batches untouched", async function () {
      const honest = { runner: worker, batches };
      expect(applyCheat(null, honest, JOB)).to.equal(honest);
      expect(applyCheat({ kind: "withhold" }, honest, JOB)).to.equal(honest);
      const r = await judge(S, (await worker.step(S, await batches(WARM), hp)).next, WARM);
      expect(r.worstRatio).to.be.lessThan(0.5);
    });
  });

  describe("precision=fp16|bf16|tf32", function () {
    for (const format of ["fp16", "bf16", "tf32"] as const) {
      it(`${format}: the update of a step on rounded parameters and inputs, added to the fp32 parameters`, async function () {
        const next = await cheatStep(cheat({ kind: "precision", format }), S, WARM);
        const isParam = (n: string): boolean => !n.startsWith("adam.");
        const rounded = roundTensors(S, format, isParam);
        const ref = (
          await worker.step(
            rounded,
            roundTensors(await batches(WARM), format, () => true),
            hp,
          )
        ).next;
        for (const name of ["fc1.weight", "fc2.bias"]) {
          const s = f32(S, name);
          const r = f32(rounded, name);
          const o = f32(ref, name);
          const got = f32(next, name);
          expect(
            Array.from(r).some((v, i) => v !== s[i]),
            `${name} rounded`,
          ).to.equal(true);
          for (let i = 0; i < s.length; i += 97) expect(got[i]).to.equal(Math.fround(s[i]! + (o[i]! - r[i]!)));
        }
        // Optimizer slots and the counter are what the reduced-precision step made of the fp32 moments.
        expect(bits(f32(next, "adam.m.fc1.weight")).equals(bits(f32(ref, "adam.m.fc1.weight")))).to.equal(true);
        expect((next.get("adam.step")!.data as BigInt64Array)[0]).to.equal(BigInt(WARM + 1));
      });
    }
    /** Single-step ratios of the cheat on `steps` consecutive states of the honest trajectory from S. */
    async function ratios(format: "fp16" | "bf16" | "tf32", steps: number): Promise<number[]> {
      const c = cheat({ kind: "precision", format });
      const out: number[] = [];
      let s = S;
      for (let t = WARM; t < WARM + steps; t++) {
        out.push((await judge(s, await cheatStep(c, s, t), t)).worstRatio);
        s = (await worker.step(s, await batches(t), hp)).next;
      }
      return out;
    }
    it("bf16 (2⁻⁹ relative rounding) is caught on every step", async function () {
      for (const r of await ratios("bf16", 5)) expect(r).to.be.greaterThan(1);
    });
    // fp16/tf32 round operands 8× more finely than bf16: with float32 accumulation the deviation sits
    // near δ_upd = 10⁻³ (bench/results/cheats.json: about a quarter of the steps exceed the bound).
    for (const format of ["fp16", "tf32"] as const) {
      it(`${format} (2⁻¹² relative rounding) exceeds the bound on some of ten steps`, async function () {
        const r = await ratios(format, 10);
        expect(Math.max(...r), r.map((x) => x.toFixed(2)).join(" ")).to.be.greaterThan(1);
      });
    }
  });

  describe("partial=f", function () {
    it("keeps round(f·B) distinct rows and fills the rest with copies of them (static shapes)", async function () {
      const b = partialBatch(await batches(WARM), 0.875);
      const x = f32(b, "x");
      const y = b.get("y")!.data as BigInt64Array;
      const orig = f32(await batches(WARM), "x");
      expect(bits(x.subarray(0, 56 * 784)).equals(bits(orig.subarray(0, 56 * 784)))).to.equal(true);
      for (const i of [56, 60, 63]) {
        expect(
          bits(x.subarray(i * 784, (i + 1) * 784)).equals(bits(orig.subarray((i - 56) * 784, (i - 56 + 1) * 784))),
          `row ${i}`,
        ).to.equal(true);
        expect(y[i]).to.equal(y[i - 56]);
      }
      expect(b.get("x")!.shape).to.deep.equal([64, 784]);
    });
    it("partial=0.875 (saves 12.5%) is caught by a single step", async function () {
      const next = await cheatStep(cheat({ kind: "partial", keep: 0.875 }), S, WARM);
      expect(same(next, (await worker.step(S, partialBatch(await batches(WARM), 0.875), hp)).next)).to.equal(true);
      const r = await judge(S, next, WARM);
      expect(r.worstRatio).to.be.greaterThan(1);
    });
  });

  describe("reuse", function () {
    it("computes even positions of an interval and repeats the previous update at odd ones; the repeat is caught", async function () {
      const c = cheat({ kind: "reuse" });
      const t0 = WARM; // WARM % k === 0: an interval starts here
      const s1 = await cheatStep(c, S, t0);
      expect(same(s1, (await worker.step(S, await batches(t0), hp)).next)).to.equal(true);
      const s2 = await cheatStep(c, s1, t0 + 1);
      for (const name of ["fc1.weight", "adam.v.fc2.bias"]) {
        const a = f32(S, name);
        const b = f32(s1, name);
        const got = f32(s2, name);
        for (let i = 0; i < a.length; i += 131) expect(got[i]).to.equal(Math.fround(b[i]! + (b[i]! - a[i]!)));
      }
      expect((s2.get("adam.step")!.data as BigInt64Array)[0]).to.equal(BigInt(t0 + 2));
      const s3 = await cheatStep(c, s2, t0 + 2);
      expect(same(s3, (await worker.step(s2, await batches(t0 + 2), hp)).next)).to.equal(true);
      expect((await judge(S, s1, t0)).worstRatio).to.be.lessThan(0.5);
      const repeat = await judge(s1, s2, t0 + 1);
      expect(repeat.worstRatio).to.be.greaterThan(1);
      // The counter advanced as a real step would: the float tensors are what convicts.
      expect(repeat.tensors.find((t) => t.name === "adam.step")!.verdict).to.equal("ok");
    });
    it("refuses to repeat an update it does not have (an odd position without the step before)", async function () {
      const c = cheat({ kind: "reuse" });
      await c.batches(WARM + 1);
      let err: unknown;
      try {
        await c.runner.step(S, await batches(WARM + 1), hp);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(NumericCheatError);
    });
    it("runs under the real trainer with its determinism self-check (the first step of each interval is computed)", async function () {
      const dir = mkdtempSync(path.join(os.tmpdir(), "upow-reuse-"));
      try {
        const c = applyCheat({ kind: "reuse" }, { runner: worker, batches }, { ...JOB, T: 8, k: 4 });
        const res = await train({
          runner: c.runner,
          initialState: S,
          batches: c.batches,
          hp,
          T: 8,
          k: 4,
          dir,
          selfCheck: true,
          keepStepStates: true,
        });
        expect(res.intervals).to.have.length(2);
        expect((res.finalState.get("adam.step")!.data as BigInt64Array)[0]).to.equal(BigInt(WARM + 8));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("noupdate", function () {
    it("carries every float tensor over, advances the step counter, and is caught on the floats", async function () {
      const next = await cheatStep(cheat({ kind: "noupdate" }), S, WARM);
      for (const [name, t] of S) if (name !== "adam.step") expect(next.get(name)!.data === t.data, name).to.equal(true);
      expect((next.get("adam.step")!.data as BigInt64Array)[0]).to.equal(BigInt(WARM + 1));
      const r = await judge(S, next, WARM);
      expect(r.worstRatio).to.be.greaterThan(1);
      expect(r.tensors.find((t) => t.name === "adam.step")!.verdict).to.equal("ok");
    });
  });

  describe("drift=c", function () {
    it("0.9× the bound passes the juror's single-step rule on every tensor; 5× is caught", async function () {
      const low = await judge(S, await cheatStep(cheat({ kind: "drift", multiple: 0.9 }), S, WARM), WARM);
      expect(low.convict).to.equal(false);
      expect(low.worstRatio).to.be.within(0.8, 1);
      for (const t of low.tensors) {
        // Parameters carry the drift; Adam's moments are left alone (a negative second moment would give NaN next step).
        if (t.name.startsWith("fc")) expect(t.ratio, t.name).to.be.within(0.8, 1);
        else expect(t.ratio, t.name).to.be.lessThan(0.5);
      }
      const high = await judge(S, await cheatStep(cheat({ kind: "drift", multiple: 5 }), S, WARM), WARM);
      expect(high.convict).to.equal(true);
      expect(high.worstRatio).to.be.within(4, 6);
    });
    it("drifts along one fixed direction per tensor, derived from the job key", async function () {
      const dir = async (key: string, state: TensorMap, t: number): Promise<Float64Array> => {
        const c = applyCheat({ kind: "drift", multiple: 0.9 }, { runner: worker, batches }, { ...JOB, key });
        const got = f32(await cheatStep(c, state, t), "fc2.weight");
        const honest = f32((await worker.step(state, await batches(t), hp)).next, "fc2.weight");
        return Float64Array.from(got, (v, i) => v - honest[i]!);
      };
      const cos = (a: Float64Array, b: Float64Array): number => {
        let ab = 0,
          aa = 0,
          bb = 0;
        for (let i = 0; i < a.length; i++) {
          ab += a[i]! * b[i]!;
          aa += a[i]! ** 2;
          bb += b[i]! ** 2;
        }
        return ab / Math.sqrt(aa * bb);
      };
      const S1 = (await worker.step(S, await batches(WARM), hp)).next;
      const d0 = await dir(JOB.key, S, WARM);
      expect(cos(d0, await dir(JOB.key, S1, WARM + 1))).to.be.greaterThan(0.99);
      expect(Math.abs(cos(d0, await dir("another-job", S, WARM)))).to.be.lessThan(0.2);
    });
    it("needs the job's bounds", function () {
      const mode: CheatMode = { kind: "drift", multiple: 0.9 };
      expect(() => applyCheat(mode, { runner: worker, batches }, { key: "j", T: 4, k: 4 })).to.throw(NumericCheatError, "bounds");
    });
  });
});
