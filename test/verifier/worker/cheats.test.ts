import { expect } from "chai";
import type { TensorMap } from "../../../verifier/engine/tensor";
import { applyCheat, CheatModeError, fakedIntervals, noisyStep, parseCheatMode } from "../../../verifier/worker/cheats";

const state = (v: number): TensorMap => new Map([["w", { dtype: "F32" as const, shape: [2], data: new Float32Array([v, v]) }]]);
const honest = {
  runner: { step: async (s: TensorMap) => ({ next: state((s.get("w")!.data as Float32Array)[0]! + 1), loss: 1 }) },
  batches: () => new Map(),
};

describe("worker/cheats (adversarial modes)", function () {
  it("parses the three modes and refuses anything else", function () {
    expect(parseCheatMode("skip=0.25")).to.deep.equal({ kind: "skip", fraction: 0.25 });
    expect(parseCheatMode("noise=1e-2")).to.deep.equal({ kind: "noise", magnitude: 0.01 });
    expect(parseCheatMode("withhold")).to.deep.equal({ kind: "withhold" });
    for (const bad of ["skip=0", "skip=2", "noise=-1", "noise=x", "lie"]) expect(() => parseCheatMode(bad)).to.throw(CheatModeError);
  });
  it("skip fakes round(f·n) intervals by copying states; other intervals train", async function () {
    const faked = fakedIntervals("job", 4, 0.5);
    expect(faked.size).to.equal(2);
    const c = applyCheat({ kind: "skip", fraction: 0.5 }, honest, { key: "job", T: 8, k: 2 });
    for (let t = 0; t < 8; t++) {
      await c.batches(t);
      const out = await c.runner.step(state(10), new Map(), {});
      expect((out.next.get("w")!.data as Float32Array)[0]).to.equal(faked.has(Math.floor(t / 2)) ? 10 : 11);
    }
  });
  it("noise perturbs exactly one step's result", async function () {
    const c = applyCheat({ kind: "noise", magnitude: 0.5 }, honest, { key: "job", T: 8, k: 2 });
    const changed: number[] = [];
    for (let t = 0; t < 8; t++) {
      await c.batches(t);
      const v = (await c.runner.step(state(10), new Map(), {})).next.get("w")!.data as Float32Array;
      if (v[0] !== 11 || v[1] !== 11) changed.push(t);
    }
    expect(changed).to.deep.equal([noisyStep(8, 2)]);
  });
});
