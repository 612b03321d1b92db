import { expect } from "chai";
import fc from "fast-check";
import {
  compareInterval,
  compareStates,
  floatReader,
  intervalPair,
  isIndeterminate,
  jurorVerdict,
  ToleranceError,
  Vote,
  type JurorVerdict,
  type ToleranceBounds,
} from "../../../verifier/engine/tolerance";
import type { Tensor, TensorMap } from "../../../verifier/engine/tensor";
import { tinyJob } from "./helpers";

const BOUNDS: ToleranceBounds = { deltaUpd: 1e-3, deltaUlp: 1e-6 };

function f32(shape: number[], values: ArrayLike<number>): Tensor {
  return { dtype: "F32", shape, data: Float32Array.from(values) };
}
function i64(values: number[]): Tensor {
  return { dtype: "I64", shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) };
}
/** Deterministic pseudo-random values (LCG) so the tests need no fixtures. */
function values(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}
/** A state S, an honest next state a = S + update, with an Adam-like counter. */
function fixture(): { s: TensorMap; a: TensorMap } {
  const w = values(200, 1);
  const upd = values(200, 2, 1e-2);
  const m = values(50, 3, 1e-3);
  const s: TensorMap = new Map([
    ["fc.weight", f32([20, 10], w)],
    ["adam.m", f32([50], m)],
    ["adam.step", i64([7])],
  ]);
  const a: TensorMap = new Map([
    [
      "fc.weight",
      f32(
        [20, 10],
        w.map((x, i) => x + upd[i]!),
      ),
    ],
    [
      "adam.m",
      f32(
        [50],
        m.map((x) => x * 0.9 + 1e-4),
      ),
    ],
    ["adam.step", i64([8])],
  ]);
  return { s, a };
}
function clone(m: TensorMap): TensorMap {
  return new Map([...m].map(([k, t]) => [k, { ...t, shape: [...t.shape], data: t.data.slice() } as Tensor]));
}
function mutateF32(m: TensorMap, name: string, f: (d: Float32Array) => void): TensorMap {
  const c = clone(m);
  f(c.get(name)!.data as Float32Array);
  return c;
}

describe("tolerance (§10.3)", () => {
  describe("when the worker's state equals the recomputed state", () => {
    it("passes with ratio 0 on every tensor", () => {
      const { s, a } = fixture();
      const r = compareStates(s, a, clone(a), BOUNDS);
      expect(r.convict).to.equal(false);
      expect(r.worstRatio).to.equal(0);
      expect(r.tensors.map((t) => t.name)).to.deep.equal(["adam.m", "adam.step", "fc.weight"]);
      expect(r.tensors.every((t) => t.verdict === "ok")).to.equal(true);
    });
  });

  describe("when the worker's state carries honest float noise", () => {
    it("passes: one-ulp perturbations of every element stay far below the bound", () => {
      const { s, a } = fixture();
      const b = mutateF32(a, "fc.weight", (d) => {
        for (let i = 0; i < d.length; i += 1) d[i] = Math.fround(d[i]! * (1 + (i % 2 ? 1 : -1) * 2 ** -23));
      });
      const r = compareStates(s, a, b, BOUNDS);
      expect(r.convict).to.equal(false);
      const fcw = r.tensors.find((t) => t.name === "fc.weight")!;
      expect(fcw.distance).to.be.greaterThan(0);
      expect(fcw.ratio).to.be.lessThan(0.5);
      expect(r.worstTensor).to.equal("fc.weight");
    });

    it("passes for random noise below δ_upd of the update (property)", () => {
      const { s, a } = fixture();
      const sw = s.get("fc.weight")!.data as Float32Array;
      const aw = a.get("fc.weight")!.data as Float32Array;
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.double({ min: 0, max: 0.9, noNaN: true }), (seed, frac) => {
          const noise = values(aw.length, seed);
          let nn = 0;
          let un = 0;
          for (let i = 0; i < aw.length; i++) {
            nn += noise[i]! ** 2;
            un += (aw[i]! - sw[i]!) ** 2;
          }
          const scale = (frac * BOUNDS.deltaUpd * Math.sqrt(un)) / Math.sqrt(nn);
          const b = mutateF32(a, "fc.weight", (d) => {
            for (let i = 0; i < d.length; i++) d[i] = aw[i]! + noise[i]! * scale;
          });
          const r = compareStates(s, a, b, BOUNDS);
          // float32 rounding of b adds at most ~1 ulp per element, covered by δ_ulp
          return !r.convict && r.worstRatio < 1;
        }),
        { numRuns: 50 },
      );
    });
  });

  describe("when one element is tampered", () => {
    it("convicts and names the tensor, with ratio ≫ 1", () => {
      const { s, a } = fixture();
      const b = mutateF32(a, "fc.weight", (d) => {
        d[17] = d[17]! + 0.05;
      });
      const r = compareStates(s, a, b, BOUNDS);
      expect(r.convict).to.equal(true);
      expect(r.worstTensor).to.equal("fc.weight");
      const t = r.tensors.find((x) => x.name === "fc.weight")!;
      expect(t.verdict).to.equal("exceeds");
      expect(t.distance).to.be.closeTo(0.05, 1e-6);
      expect(t.ratio).to.be.greaterThan(10);
      expect(r.tensors.find((x) => x.name === "adam.m")!.verdict).to.equal("ok");
    });

    it("convicts a change in a tiny tensor that a whole-state norm would hide", () => {
      const { s, a } = fixture();
      const b = mutateF32(a, "adam.m", (d) => {
        d[0] = 0;
      });
      const r = compareStates(s, a, b, BOUNDS);
      expect(r.convict).to.equal(true);
      expect(r.worstTensor).to.equal("adam.m");
    });
  });

  describe("when the update is scaled", () => {
    for (const [label, scale, guilty] of [
      ["×0 (skipped step)", 0, true],
      ["×0.5", 0.5, true],
      ["×1.01", 1.01, true],
      ["×1.0005", 1.0005, false],
    ] as const) {
      it(`${guilty ? "convicts" : "passes"} an update scaled ${label}`, () => {
        const { s, a } = fixture();
        const sw = s.get("fc.weight")!.data as Float32Array;
        const aw = a.get("fc.weight")!.data as Float32Array;
        const b = mutateF32(a, "fc.weight", (d) => {
          for (let i = 0; i < d.length; i++) d[i] = sw[i]! + (aw[i]! - sw[i]!) * scale;
        });
        const r = compareStates(s, a, b, BOUNDS);
        expect(r.convict).to.equal(guilty);
        const t = r.tensors.find((x) => x.name === "fc.weight")!;
        // distance = |1 − scale|·‖update‖ up to float32 rounding
        expect(t.distance / t.updateNorm).to.be.closeTo(Math.abs(1 - scale), 1e-4);
      });
    }
  });

  describe("when integer tensors differ", () => {
    it("convicts a step counter off by one", () => {
      const { s, a } = fixture();
      const b = clone(a);
      b.set("adam.step", i64([9]));
      const r = compareStates(s, a, b, BOUNDS);
      expect(r.convict).to.equal(true);
      const t = r.tensors.find((x) => x.name === "adam.step")!;
      expect(t.verdict).to.equal("integer-mismatch");
      expect(t.mismatchedElements).to.equal(1);
      expect(t.firstMismatch).to.equal(0);
      expect(t.ratio).to.equal(Infinity);
    });

    it("does not need the integer tensor in the start state", () => {
      const { s, a } = fixture();
      s.delete("adam.step");
      expect(compareStates(s, a, clone(a), BOUNDS).convict).to.equal(false);
    });
  });

  describe("when non-finite values appear", () => {
    it("passes NaN/±Inf in the same places and excludes them from the norms", () => {
      const { s, a } = fixture();
      const a2 = mutateF32(a, "fc.weight", (d) => {
        d[0] = NaN;
        d[1] = Infinity;
        d[2] = -Infinity;
      });
      const r = compareStates(s, a2, clone(a2), BOUNDS);
      expect(r.convict).to.equal(false);
      const t = r.tensors.find((x) => x.name === "fc.weight")!;
      expect(Number.isFinite(t.norm)).to.equal(true);
    });

    it("convicts NaN in a different place", () => {
      const { s, a } = fixture();
      const a2 = mutateF32(a, "fc.weight", (d) => {
        d[0] = NaN;
      });
      const b = mutateF32(a, "fc.weight", (d) => {
        d[1] = NaN;
      });
      const r = compareStates(s, a2, b, BOUNDS);
      const t = r.tensors.find((x) => x.name === "fc.weight")!;
      expect(t.verdict).to.equal("nonfinite-mismatch");
      expect(t.mismatchedElements).to.equal(2);
      expect(t.firstMismatch).to.equal(0);
      expect(r.convict).to.equal(true);
    });

    it("convicts +Inf against −Inf and Inf against NaN", () => {
      const { s, a } = fixture();
      const a2 = mutateF32(a, "fc.weight", (d) => {
        d[3] = Infinity;
        d[4] = Infinity;
      });
      const b = mutateF32(a, "fc.weight", (d) => {
        d[3] = -Infinity;
        d[4] = NaN;
      });
      const t = compareStates(s, a2, b, BOUNDS).tensors.find((x) => x.name === "fc.weight")!;
      expect(t.verdict).to.equal("nonfinite-mismatch");
      expect(t.mismatchedElements).to.equal(2);
    });

    it("convicts a NaN the worker put where the recomputation is finite", () => {
      const { s, a } = fixture();
      const b = mutateF32(a, "adam.m", (d) => {
        d[5] = NaN;
      });
      expect(compareStates(s, a, b, BOUNDS).convict).to.equal(true);
    });
  });

  describe("when F64 values are so large that their squares overflow", () => {
    const f64 = (values: number[]): Tensor => ({ dtype: "F64", shape: [values.length], data: Float64Array.from(values) });
    const big = [1e300, -3e300, 2e300, 5e299];
    const s: TensorMap = new Map([["w", f64(big)]]);
    const a: TensorMap = new Map([["w", f64(big.map((x) => x * 1.01))]]);
    it("still convicts a far-off claim (Infinity/Infinity must not read as a NaN ratio that passes)", () => {
      const b: TensorMap = new Map([["w", f64(big.map((x) => -x))]]);
      const t = compareStates(s, a, b, BOUNDS).tensors[0]!;
      expect(t.verdict).to.equal("exceeds");
      expect(t.ratio).to.be.greaterThan(1);
      expect(Number.isNaN(t.ratio)).to.equal(false);
    });
    it("passes an exact claim and measures a small deviation on the right scale", () => {
      expect(compareStates(s, a, a, BOUNDS).tensors[0]!.verdict).to.equal("ok");
      const close: TensorMap = new Map([["w", f64(big.map((x, i) => x * 1.01 + (i === 0 ? 1e290 : 0)))]]);
      const t = compareStates(s, a, close, BOUNDS).tensors[0]!;
      expect(t.verdict).to.equal("ok");
      expect(t.ratio).to.be.greaterThan(0).and.lessThan(1);
    });
  });

  describe("when the structure differs", () => {
    it("convicts a missing tensor, an extra tensor, a dtype and a shape change", () => {
      const { s, a } = fixture();
      const missing = clone(a);
      missing.delete("adam.m");
      expect(compareStates(s, a, missing, BOUNDS).tensors.find((t) => t.name === "adam.m")!.verdict).to.equal("missing");
      const extra = clone(a);
      extra.set("zzz", f32([1], [0]));
      const re = compareStates(s, a, extra, BOUNDS);
      expect(re.tensors.find((t) => t.name === "zzz")!.verdict).to.equal("unexpected");
      expect(re.worstRatio).to.equal(Infinity);
      const dt = clone(a);
      dt.set("adam.m", { dtype: "F64", shape: [50], data: Float64Array.from(a.get("adam.m")!.data as Float32Array) });
      expect(compareStates(s, a, dt, BOUNDS).tensors.find((t) => t.name === "adam.m")!.verdict).to.equal("dtype-mismatch");
      const sh = clone(a);
      sh.set("fc.weight", { ...sh.get("fc.weight")!, shape: [10, 20] });
      expect(compareStates(s, a, sh, BOUNDS).tensors.find((t) => t.name === "fc.weight")!.verdict).to.equal("shape-mismatch");
    });

    it("flags a start state that lacks a float tensor", () => {
      const { s, a } = fixture();
      s.delete("adam.m");
      expect(compareStates(s, a, clone(a), BOUNDS).tensors.find((t) => t.name === "adam.m")!.verdict).to.equal("before-mismatch");
    });

    it("rejects bad bounds and inconsistent tensors with a typed error", () => {
      const { s, a } = fixture();
      expect(() => compareStates(s, a, a, { deltaUpd: -1, deltaUlp: 0 })).to.throw(ToleranceError);
      expect(() => compareStates(s, a, a, { deltaUpd: NaN, deltaUlp: 0 })).to.throw(ToleranceError);
      const bad = clone(a);
      bad.set("fc.weight", { dtype: "F32", shape: [20, 10], data: new Float32Array(3) });
      expect(() => compareStates(s, a, bad, BOUNDS)).to.throw(ToleranceError);
    });
  });

  describe("when the tensors are half precision", () => {
    it("reads F16 and BF16 bit patterns exactly", () => {
      const h: Tensor = { dtype: "F16", shape: [5], data: Uint16Array.from([0x3c00, 0xc000, 0x0001, 0x7c00, 0x7e00]) };
      const r = floatReader(h);
      expect([r(0), r(1), r(2), r(3)]).to.deep.equal([1, -2, 2 ** -24, Infinity]);
      expect(Number.isNaN(r(4))).to.equal(true);
      const bf: Tensor = { dtype: "BF16", shape: [2], data: Uint16Array.from([0x3f80, 0xc040]) };
      const rb = floatReader(bf);
      expect([rb(0), rb(1)]).to.deep.equal([1, -3]);
    });
  });

  describe("k-step audit form", () => {
    it("uses δ_k bounds relative to the whole-interval update", () => {
      const { s, a } = fixture();
      const aw = a.get("fc.weight")!.data as Float32Array;
      const sw = s.get("fc.weight")!.data as Float32Array;
      // off by 1% of the update: fails the single-step bound, passes a δ_k of 5%
      const b = mutateF32(a, "fc.weight", (d) => {
        for (let i = 0; i < d.length; i++) d[i] = sw[i]! + (aw[i]! - sw[i]!) * 1.01;
      });
      expect(compareStates(s, a, b, BOUNDS).convict).to.equal(true);
      const r = compareInterval(s, a, b, { deltaKUpd: 0.05, deltaKUlp: 1e-6 });
      expect(r.convict).to.equal(false);
      expect(r.bounds).to.deep.equal({ deltaUpd: 0.05, deltaUlp: 1e-6 });
      expect(compareInterval(s, a, b, { deltaKUpd: 0.005, deltaKUlp: 1e-6 }).convict).to.equal(true);
    });
  });

  describe("per-tensor overrides of the manifest (tolerance.perTensor)", () => {
    // The worker's fc.weight is off by 0.5 % of its update: over δ_upd = 10⁻³, under a loosened 10⁻².
    function offByHalfPercent(): { s: TensorMap; a: TensorMap; b: TensorMap } {
      const { s, a } = fixture();
      const aw = a.get("fc.weight")!.data as Float32Array;
      const sw = s.get("fc.weight")!.data as Float32Array;
      return {
        s,
        a,
        b: mutateF32(a, "fc.weight", (d) => {
          for (let i = 0; i < d.length; i++) d[i] = sw[i]! + (aw[i]! - sw[i]!) * 1.005;
        }),
      };
    }
    it("judges a tensor the manifest loosened by its own pair: an honest worker inside it is not convicted", () => {
      const { s, a, b } = offByHalfPercent();
      expect(compareStates(s, a, b, BOUNDS).convict).to.equal(true);
      const loosened = { ...BOUNDS, perTensor: { "fc.weight": { deltaUpd: 1e-2, deltaUlp: 1e-6 } } };
      const r = compareStates(s, a, b, loosened);
      expect(r.convict).to.equal(false);
      expect(r.tensors.find((t) => t.name === "fc.weight")!.ratio).to.be.closeTo(0.5, 0.05);
    });
    it("convicts a tensor the manifest tightened even where the common pair would pass", () => {
      const { s, a, b } = offByHalfPercent();
      const loose = { deltaUpd: 1e-2, deltaUlp: 1e-6 };
      expect(compareStates(s, a, b, loose).convict).to.equal(false);
      const r = compareStates(s, a, b, { ...loose, perTensor: { "fc.weight": { deltaUpd: 1e-3, deltaUlp: 1e-6 } } });
      expect(r.convict).to.equal(true);
      expect(r.worstTensor).to.equal("fc.weight");
    });
    it("does not let an override named after another tensor (or an inherited key) loosen this one", () => {
      const { s, a, b } = offByHalfPercent();
      const other = { ...BOUNDS, perTensor: { "adam.m": { deltaUpd: 1, deltaUlp: 1 } } };
      expect(compareStates(s, a, b, other).convict).to.equal(true);
      const proto = {
        ...BOUNDS,
        perTensor: JSON.parse('{"__proto__": {"deltaUpd": 1, "deltaUlp": 1}}') as Record<string, ToleranceBounds>,
      };
      expect(compareStates(s, a, b, proto).convict).to.equal(true);
    });
    it("applies the per-tensor k-step pair in the interval form and the single-step pair in the step form", () => {
      const { s, a, b } = offByHalfPercent();
      const manifest = {
        deltaUpd: 1e-3,
        deltaUlp: 1e-6,
        deltaKUpd: 2e-3,
        deltaKUlp: 2e-6,
        perTensor: { "fc.weight": { deltaUpd: 1e-3, deltaUlp: 1e-6, deltaKUpd: 1e-2, deltaKUlp: 2e-6 } },
      };
      expect(compareInterval(s, a, b, manifest).convict).to.equal(false);
      expect(compareInterval(s, a, b, { ...manifest, perTensor: undefined }).convict).to.equal(true);
      expect(compareStates(s, a, b, manifest).convict).to.equal(true);
      expect(intervalPair(manifest).perTensor).to.deep.equal({ "fc.weight": { deltaUpd: 1e-2, deltaUlp: 2e-6 } });
    });
    it("rejects a malformed per-tensor bound with the tensor's name in the error", () => {
      const { s, a } = fixture();
      const bad = { ...BOUNDS, perTensor: { "fc.weight": { deltaUpd: -1, deltaUlp: 1e-6 } } };
      expect(() => compareStates(s, a, a, bad))
        .to.throw(ToleranceError)
        .with.property("details")
        .that.deep.includes({ key: "perTensor.fc.weight.deltaUpd" });
    });
    it("lets the juror acquit an honest worker inside a loosened tensor (V9.1 reads the same overrides)", () => {
      const { s, a, b } = offByHalfPercent();
      expect(jurorVerdict(s, a, clone(a), b, BOUNDS).vote).to.equal(Vote.WorkerFault);
      expect(jurorVerdict(s, a, clone(a), b, { ...BOUNDS, perTensor: { "fc.weight": { deltaUpd: 1e-2, deltaUlp: 1e-6 } } }).vote).to.equal(
        Vote.WorkerHonest,
      );
    });
  });

  describe("juror verdict (v3 V9.1)", () => {
    /** a² = S + (a¹ − S)·(1 + rho) on fc.weight: the juror's second run drifts by rho of the update. */
    function drifted(s: TensorMap, a: TensorMap, rho: number): TensorMap {
      const aw = a.get("fc.weight")!.data as Float32Array;
      const sw = s.get("fc.weight")!.data as Float32Array;
      return mutateF32(a, "fc.weight", (d) => {
        for (let i = 0; i < d.length; i++) d[i] = sw[i]! + (aw[i]! - sw[i]!) * (1 + rho);
      });
    }
    /** The worker's state moved from a¹ by tau of the update, away from a² (so ‖b − a²‖ > ‖b − a¹‖). */
    function pushedAway(s: TensorMap, a: TensorMap, tau: number): TensorMap {
      return drifted(s, a, -tau);
    }
    const weight = (v: JurorVerdict, r: "selfCheck" | "run1" | "run2") => v[r].tensors.find((t) => t.name === "fc.weight")!;
    const margin = (v: JurorVerdict, name = "fc.weight") => v.margins.find((m) => m.name === name)!;

    it("votes WorkerHonest when both runs agree and the worker is honest", () => {
      const { s, a } = fixture();
      const v = jurorVerdict(s, a, clone(a), clone(a), BOUNDS);
      expect(v.vote).to.equal(Vote.WorkerHonest);
      expect(isIndeterminate(v.selfCheck)).to.equal(false);
      expect(v.margins.every((m) => !m.fault)).to.equal(true);
    });

    it("votes WorkerFault when both runs agree and the worker's state exceeds the bound", () => {
      const { s, a } = fixture();
      const b = mutateF32(a, "fc.weight", (d) => {
        d[0] = d[0]! + 1;
      });
      const v = jurorVerdict(s, a, clone(a), b, BOUNDS);
      expect(v.vote).to.equal(Vote.WorkerFault);
      expect(margin(v).disagreement).to.equal(0);
    });

    it("votes WorkerFault on a wrong step counter (integer tensor) when its runs agree on it", () => {
      const { s, a } = fixture();
      const b = clone(a);
      b.set("adam.step", i64([9]));
      const v = jurorVerdict(s, a, clone(a), b, BOUNDS);
      expect(v.vote).to.equal(Vote.WorkerFault);
      expect(margin(v, "adam.step")).to.deep.include({ excess: Infinity, disagreement: 0, fault: true });
    });

    describe("when the state is numerically unstable (its runs disagree by far more than the bound)", () => {
      it("cannot convict an honest worker that matches the reference run", () => {
        const { s, a } = fixture();
        const run2 = drifted(s, a, 0.01); // self ratio ≈ 9: both old rules' "any run convicts" would convict
        const v = jurorVerdict(s, a, run2, clone(a), BOUNDS);
        expect(v.run2.convict).to.equal(true);
        expect(v.vote).to.equal(Vote.Indeterminate);
      });

      it("cannot convict an honest worker that matches the juror's other setting", () => {
        const { s, a } = fixture();
        const run2 = drifted(s, a, 0.01);
        const v = jurorVerdict(s, a, run2, clone(run2), BOUNDS);
        expect(v.run1.convict).to.equal(true);
        expect(v.vote).to.equal(Vote.Indeterminate);
      });

      it("cannot acquit a cheater whose error exceeds bound + 2·disagreement (checked before Indeterminate)", () => {
        const { s, a } = fixture();
        const run2 = drifted(s, a, 0.0008); // self ratio ≈ 0.72 > 0.5: the pre-V9.1 rule voted Indeterminate here
        const b = pushedAway(s, a, 0.005); // ‖b − a¹‖ ≈ 0.5 % of the update ≫ bound + 2·0.08 %
        const v = jurorVerdict(s, a, run2, b, BOUNDS);
        expect(isIndeterminate(v.selfCheck)).to.equal(true);
        const m = margin(v);
        expect(m.excess).to.be.greaterThan(2 * m.disagreement);
        expect(v.vote).to.equal(Vote.WorkerFault);
      });

      it("cannot acquit a cheater on one tensor because the runs disagree on another (disagreement is per tensor)", () => {
        const { s, a } = fixture();
        const run2 = drifted(s, a, 0.05); // fc.weight wildly unstable
        const b = mutateF32(a, "adam.m", (d) => {
          d[0] = d[0]! + 0.01;
        }); // adam.m tampered, runs agree on it
        const v = jurorVerdict(s, a, run2, b, BOUNDS);
        expect(margin(v).fault).to.equal(false);
        expect(margin(v, "adam.m")).to.deep.include({ disagreement: 0, fault: true });
        expect(v.vote).to.equal(Vote.WorkerFault);
      });

      it("cannot acquit a float cheater because the runs disagree on an integer tensor", () => {
        const { s, a } = fixture();
        const run2 = clone(a);
        run2.set("adam.step", i64([9]));
        const b = mutateF32(a, "fc.weight", (d) => {
          d[0] = d[0]! + 1;
        });
        const v = jurorVerdict(s, a, run2, b, BOUNDS);
        expect(margin(v, "adam.step")).to.deep.include({ disagreement: Infinity, fault: false });
        expect(v.vote).to.equal(Vote.WorkerFault);
      });
    });

    describe("at the margin bound + 2·‖a¹ − a²‖", () => {
      /** tau at which ‖b − a¹‖ = bound₁ + 2‖a¹ − a²‖ for b = pushedAway(tau), from the reported norms. */
      function threshold(rho: number): number {
        const { s, a } = fixture();
        const v = jurorVerdict(s, a, drifted(s, a, rho), clone(a), BOUNDS);
        const self = weight(v, "selfCheck");
        return (self.bound + 2 * self.distance) / self.updateNorm;
      }
      for (const [label, rho, below] of [
        ["runs agree closely (below half the bound)", 0.0002, Vote.WorkerHonest],
        ["runs disagree by more than half the bound", 0.0008, Vote.Indeterminate],
      ] as const) {
        it(`convicts just above it and not just below it when ${label}`, () => {
          const { s, a } = fixture();
          const run2 = drifted(s, a, rho);
          const tau = threshold(rho);
          const above = jurorVerdict(s, a, run2, pushedAway(s, a, tau * 1.02), BOUNDS);
          const under = jurorVerdict(s, a, run2, pushedAway(s, a, tau * 0.98), BOUNDS);
          expect(above.vote).to.equal(Vote.WorkerFault);
          expect(under.vote).to.equal(below);
          // Just below, both runs convict on their own: the pre-V9.1 "both runs convict" rule would have convicted.
          expect(under.run1.convict && under.run2.convict).to.equal(true);
          for (const v of [above, under]) expect(margin(v).fault).to.equal(margin(v).excess > 2 * margin(v).disagreement);
        });
      }
    });

    describe("order of the checks", () => {
      it("puts Indeterminate before WorkerHonest: unstable runs and a worker equal to the reference abstain", () => {
        const { s, a } = fixture();
        const v = jurorVerdict(s, a, drifted(s, a, 0.0008), clone(a), BOUNDS);
        expect(v.vote).to.equal(Vote.Indeterminate);
      });

      it("does not vote Indeterminate for self-disagreement below half the bound", () => {
        const { s, a } = fixture();
        const v = jurorVerdict(s, a, drifted(s, a, 0.0002), clone(a), BOUNDS);
        expect(v.selfCheck.worstRatio).to.be.within(0.1, 0.5);
        expect(v.vote).to.equal(Vote.WorkerHonest);
      });

      it("votes Indeterminate when its own runs disagree on an integer tensor and the worker matches one", () => {
        const { s, a } = fixture();
        const run2 = clone(a);
        run2.set("adam.step", i64([9]));
        expect(jurorVerdict(s, a, run2, clone(a), BOUNDS).vote).to.equal(Vote.Indeterminate);
      });

      it("convicts a tensor missing from the worker's state even when the runs are unstable", () => {
        const { s, a } = fixture();
        const b = clone(a);
        b.delete("adam.m");
        expect(jurorVerdict(s, a, drifted(s, a, 0.05), b, BOUNDS).vote).to.equal(Vote.WorkerFault);
      });
    });

    describe("with real onnxruntime runs (reference: 1 thread, opt all; other: 2 threads, opt disabled)", function () {
      this.timeout(60_000);
      let steps: { s: TensorMap; a1: TensorMap; a2: TensorMap }[];
      before(async () => {
        const ref = await tinyJob();
        const other = await tinyJob({ threads: 2, optLevel: "disabled" });
        steps = [];
        let state = ref.params.initialState;
        try {
          for (let t = 0; t < 4; t++) {
            const batch = ref.params.batches(t);
            const a1 = (await ref.params.runner.step(state, batch, ref.params.hp)).next;
            const a2 = (await other.params.runner.step(state, batch, ref.params.hp)).next;
            steps.push({ s: state, a1, a2 });
            state = a1;
          }
        } finally {
          await ref.params.runner.dispose();
          await other.params.runner.dispose();
        }
      });

      it("acquits an honest worker computed on either setting", () => {
        for (const { s, a1, a2 } of steps) {
          expect(jurorVerdict(s, a1, a2, clone(a1), BOUNDS).vote).to.equal(Vote.WorkerHonest);
          expect(jurorVerdict(s, a1, a2, clone(a2), BOUNDS).vote).to.equal(Vote.WorkerHonest);
        }
      });

      it("convicts a skipped step (S_{j+1} = S_j) and a step on a half-zeroed first-layer update", () => {
        for (const { s, a1, a2 } of steps) {
          expect(jurorVerdict(s, a1, a2, clone(s), BOUNDS).vote).to.equal(Vote.WorkerFault);
          const name = [...a1.keys()].find((n) => a1.get(n)!.dtype === "F32" && a1.get(n)!.data.length >= 32)!;
          const sw = s.get(name)!.data as Float32Array;
          const half = mutateF32(a1, name, (d) => {
            for (let i = 0; i < d.length; i += 2) d[i] = sw[i]!;
          });
          expect(jurorVerdict(s, a1, a2, half, BOUNDS).vote).to.equal(Vote.WorkerFault);
        }
      });
    });
  });
});
