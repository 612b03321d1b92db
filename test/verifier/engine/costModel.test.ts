import { expect } from "chai";
import { createHash } from "node:crypto";
import {
  COST_MODEL,
  COST_MODEL_DESCRIPTION,
  CostModelMismatchError,
  StepCostAboveCapError,
  StepCostUnderivableError,
  StepCostUnderstatedError,
  checkStepCost,
  deriveStepCost,
  type DerivedStepCost,
} from "../../../verifier/engine/costModel";
import { buildStepGraph, estimateFlops, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { ALLOWED_OPS } from "../../../verifier/engine/onnx/validate";
import { canonicalJson } from "../../../verifier/protocol/canonicalJson";
import { ProcessStepRunner } from "../../../verifier/engine/processRunner";
import { withHiddenWork } from "../../helpers/costAttacks";
import { wideBatch } from "./helpers";

const SPEC: ModelSpec = { layers: [784, 16, 10], activation: "relu", optimizer: "sgd" };
const B = 32;
const NO_CAPS = { maxFlopsPerStep: 2n ** 200n, maxPeakBytes: 2n ** 200n };

describe("cost model upow.cost/1 (V8.1-V8.2)", function () {
  const graph = buildStepGraph(SPEC);
  const honest = deriveStepCost(graph, B);
  const declared = [{ source: "manifest", flopsPerStep: honest.flopsPerStep, stateBytes: honest.stateBytes }];

  it("is identified by the sha256 of its canonical description, pinned so that a rule change needs a new version", function () {
    expect(COST_MODEL.version).to.equal("upow.cost/1");
    expect(COST_MODEL.hash).to.equal(`0x${createHash("sha256").update(canonicalJson(COST_MODEL_DESCRIPTION)).digest("hex")}`);
    expect(COST_MODEL.hash).to.equal("0x7af6770a2f881f96fd9690d49a32a0c9ec5bf49805aa7b4225799abfc9ebe264");
  });

  it("has exactly one FLOP rule per allowed op", function () {
    expect(Object.keys(COST_MODEL_DESCRIPTION.flops).sort()).to.deep.equal([...ALLOWED_OPS].sort());
  });

  it("derives flopsPerStep, stateBytes and the peak bound from the graph and the batch size alone", function () {
    const est = estimateFlops(graph, { x: [B, 784], y: [B] });
    expect(honest.flopsPerStep).to.equal(BigInt(Math.ceil(est.flops)));
    expect(honest.stateBytes).to.equal(BigInt(est.stateBytes));
    expect(honest.peakBytes).to.equal(BigInt(est.peakBytesUpperBound));
    const state = [...initState(SPEC, "s").values()].reduce((s, t) => s + t.data.byteLength, 0);
    expect(honest.stateBytes).to.equal(BigInt(state));
    expect(() => checkStepCost(honest, declared, NO_CAPS)).not.to.throw();
  });

  describe("when a graph hides work behind a tiny constant", function () {
    const N = 100_000;
    for (const kind of ["expand", "constantOfShape"] as const) {
      it(`counts ${kind} to [N,N] + MatMul (≥ 2·N³ FLOPs) and rules the honest-looking declaration understated`, function () {
        const attack = withHiddenWork(graph, kind, N);
        expect(attack.length).to.be.below(graph.length + 1024);
        const cost = deriveStepCost(attack, B);
        expect(cost.flopsPerStep >= 2n * BigInt(N) ** 3n).to.equal(true);
        expect(cost.peakBytes >= 2n * 4n * BigInt(N) ** 2n).to.equal(true); // the N×N input and product
        expect(() => checkStepCost(cost, declared, NO_CAPS)).to.throw(StepCostUnderstatedError, "declares flopsPerStep");
        // Declared honestly, it is still above any sane cap.
        const frank = [{ source: "manifest", flopsPerStep: cost.flopsPerStep, stateBytes: cost.stateBytes }];
        expect(() => checkStepCost(cost, frank, { maxFlopsPerStep: 10n ** 13n, maxPeakBytes: 2n ** 200n })).to.throw(
          StepCostAboveCapError,
          "FLOPs",
        );
        expect(() => checkStepCost(cost, frank, { maxFlopsPerStep: 2n ** 200n, maxPeakBytes: 8n << 30n })).to.throw(
          StepCostAboveCapError,
          "memory",
        );
      });
    }

    it("refuses Tile (no shape rule, not on the allow-list)", function () {
      expect(() => deriveStepCost(withHiddenWork(graph, "tile", N), B)).to.throw(StepCostUnderivableError, "op");
    });

    it("refuses a negative dimension that would make the MatMul count negative", function () {
      expect(() => deriveStepCost(withHiddenWork(graph, "negative", N), B)).to.throw(StepCostUnderivableError, "negative");
    });

    it("refuses a shape known only at run time", function () {
      expect(() => deriveStepCost(withHiddenWork(graph, "dynamic", N), B)).to.throw(StepCostUnderivableError, "must be a constant");
    });

    it("counts what onnxruntime really runs: a small N step costs what the model says and runs", async function () {
      this.timeout(120_000);
      const n = 64;
      const attack = withHiddenWork(graph, "expand", n);
      const cost = deriveStepCost(attack, B);
      expect(cost.flopsPerStep - honest.flopsPerStep >= 2n * BigInt(n) ** 3n).to.equal(true);
      const r = await ProcessStepRunner.create({ graph: attack, budget: { flopsPerStep: cost.flopsPerStep } });
      try {
        const out = await r.step(initState(SPEC, "s"), wideBatch(B), { lr: 0.1 });
        expect(Number.isFinite(out.loss)).to.equal(true);
      } finally {
        await r.dispose();
      }
    });
  });

  it("refuses a manifest naming another cost model (version or hash)", function () {
    expect(() => deriveStepCost(graph, B, COST_MODEL)).not.to.throw();
    expect(() => deriveStepCost(graph, B, { version: "upow.cost/2", hash: COST_MODEL.hash })).to.throw(CostModelMismatchError);
    expect(() => deriveStepCost(graph, B, { version: COST_MODEL.version, hash: `0x${"00".repeat(32)}` })).to.throw(CostModelMismatchError);
  });

  describe("checkStepCost", function () {
    const cost: DerivedStepCost = { ...honest, flopsPerStep: 1000n, stateBytes: 100n, peakBytes: 500n };
    it("rules each declaration that understates FLOPs or state bytes, naming its source and field", function () {
      expect(() => checkStepCost(cost, [{ source: "on-chain job", flopsPerStep: 999n, stateBytes: 100n }], NO_CAPS)).to.throw(
        StepCostUnderstatedError,
        "on-chain job declares flopsPerStep 999",
      );
      expect(() => checkStepCost(cost, [{ source: "manifest", flopsPerStep: 1000n, stateBytes: 99n }], NO_CAPS)).to.throw(
        StepCostUnderstatedError,
        "manifest declares stateBytes 99",
      );
      expect(() =>
        checkStepCost(
          cost,
          [
            { source: "a", flopsPerStep: 1000n, stateBytes: 100n },
            { source: "b", flopsPerStep: 10n, stateBytes: 100n },
          ],
          NO_CAPS,
        ),
      ).to.throw(StepCostUnderstatedError, "b declares");
    });
    it("checks understatement before the caps (the first is the spec's fault, the second only ours)", function () {
      expect(() =>
        checkStepCost(cost, [{ source: "m", flopsPerStep: 1n, stateBytes: 100n }], { maxFlopsPerStep: 1n, maxPeakBytes: 1n }),
      ).to.throw(StepCostUnderstatedError);
    });
    it("applies the caps inclusively", function () {
      const ok = [{ source: "m", flopsPerStep: 1000n, stateBytes: 100n }];
      expect(() => checkStepCost(cost, ok, { maxFlopsPerStep: 1000n, maxPeakBytes: 500n })).not.to.throw();
      expect(() => checkStepCost(cost, ok, { maxFlopsPerStep: 999n, maxPeakBytes: 500n })).to.throw(StepCostAboveCapError);
      expect(() => checkStepCost(cost, ok, { maxFlopsPerStep: 1000n, maxPeakBytes: 499n })).to.throw(StepCostAboveCapError);
    });
  });
});
