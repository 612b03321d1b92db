import { expect } from "chai";
import { DELTA_K_PROCEDURE, calibrate, recommendUpd, roundBf16, roundFp16 } from "../../../verifier/engine/calibrate";
import { TrainerError } from "../../../verifier/engine/trainErrors";
import { tinyJob } from "./helpers";

describe("calibrate", function () {
  it("measures honest drift between settings, recommends bounds the honest runs pass, and every cheat fails", async () => {
    const job = await tinyJob();
    const report = await calibrate({
      graph: job.graph,
      initialState: job.params.initialState,
      batches: job.params.batches,
      hp: job.params.hp,
      states: 2,
      spacing: 3,
      batchesPerState: 1,
      k: 3,
      settings: [
        { label: "ref", ep: "cpu", threads: 1, optLevel: "all" },
        { label: "t2", ep: "cpu", threads: 2, optLevel: "all" },
        { label: "noopt", ep: "cpu", threads: 1, optLevel: "disabled" },
      ],
    });
    expect(report.settings).to.deep.equal(["t2", "noopt"]);
    expect(report.measurements).to.have.length(2 * (1 + 1) * 2);
    expect(report.recommended.deltaUpd).to.be.at.least(3e-3);
    expect(report.recommended.deltaKUpd).to.be.at.least(DELTA_K_PROCEDURE.floors.deltaKUpd);
    expect(report.procedure).to.equal(DELTA_K_PROCEDURE.version);
    // the factor of 10 leaves honest runs at ≤ 0.1 of the bound (well under the juror's 0.5)
    expect(report.worstHonestStepRatio).to.be.at.most(0.1);
    expect(report.worstHonestIntervalRatio).to.be.at.most(0.1);
    const kinds = new Set(report.cheats.map((c) => c.cheat));
    expect([...kinds].sort()).to.deep.equal(["bf16-weights", "fp16-weights", "half-batch", "skipped-step", "zeroed-adam-moments"]);
    for (const c of report.cheats) {
      expect(c.convicted, `${c.cheat} at step ${c.step}: ratio ${c.ratio}`).to.equal(true);
      // fp16-rounded weights alone sit just over the 3·10⁻³ floor on this tiny job (≈ 1.2; the
      // floor is 3× the worst honest CPU ↔ WebGPU step): precision cheats are the ones the floor
      // trades against, docs/tolerance.md. Everything else stays far beyond it.
      expect(c.ratio).to.be.greaterThan(c.cheat === "fp16-weights" ? 1 : 2);
    }
  });

  it("rejects bad parameters with a typed error", async () => {
    const job = await tinyJob();
    let err: unknown;
    try {
      await calibrate({ graph: job.graph, initialState: job.params.initialState, batches: job.params.batches, hp: job.params.hp, k: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(TrainerError);
  });

  it("recommends the floor when the settings agree, and factor × excess drift otherwise", () => {
    const tensor = (distance: number, updateNorm: number, norm: number) => ({
      name: "w",
      dtype: "F32" as const,
      verdict: "ok" as const,
      distance,
      updateNorm,
      norm,
      bound: 0,
      ratio: 0,
      mismatchedElements: 0,
      firstMismatch: null,
    });
    const rep = (t: ReturnType<typeof tensor>) => ({
      convict: false,
      worstRatio: 0,
      worstTensor: null,
      bounds: { deltaUpd: 1, deltaUlp: 0 },
      tensors: [t],
    });
    expect(recommendUpd([rep(tensor(0, 1, 1))], 1e-6, 1e-3, 10)).to.equal(1e-3);
    expect(recommendUpd([rep(tensor(5e-7, 1e-3, 1))], 1e-6, 1e-3, 10)).to.equal(1e-3); // absorbed by δ_ulp
    expect(recommendUpd([rep(tensor(1e-3 + 1e-6, 1e-1, 1))], 1e-6, 1e-3, 10)).to.be.closeTo(0.1, 1e-12);
  });

  it("rounds to bf16 and fp16 precision with ties to even", () => {
    const x = Float32Array.from([
      1,
      1 + 2 ** -8,
      1 + 3 * 2 ** -8,
      -(1 + 3 * 2 ** -8),
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      -(1 + 3 * 2 ** -11),
      70000,
      Infinity,
    ]);
    expect([...roundBf16(x)].slice(0, 4)).to.deep.equal([1, 1, 1 + 2 ** -6, -(1 + 2 ** -6)]);
    const h = roundFp16(x);
    expect([...h].slice(4)).to.deep.equal([1, 1 + 2 ** -9, -(1 + 2 ** -9), Infinity, Infinity]);
    expect(h[0]).to.equal(1);
  });
});
