/**
 * The audit plan (issue item 7, verifier/daemon/audit/plan.ts): closed forms, the plan's choices and
 * caps, and a Monte-Carlo check of the detection probability against the closed form, with seats
 * drawn hostile by stake share and every honest seat sampling distinct intervals as sampleOf does
 * (the simulator, bench/lib/auditSim.ts, is the one bench/detection.ts reports with).
 */
import { expect } from "chai";
import {
  auditPlan,
  AuditPlanInfeasibleError,
  detectionProbability,
  minimumSamples,
  unprofitableCollateral,
  type AuditPlanParameters,
} from "../../../verifier/daemon/audit/plan";
import { VerifierDaemonError } from "../../../verifier/daemon/errors";
import { arrangements, missRate as simulatedMissRate, type SimulatedPlan } from "../../../bench/lib/auditSim";

const F = 0.1;
const H = 0.3;
/** The 784-128-10 Adam MLP of the benches: 0.0277 GFLOP per step; the largest admitted state, 10 MB. */
const JOB: AuditPlanParameters = { totalSteps: 10_000, stepsPerInterval: 100, flopsPerStep: 2.77e7, stateBytes: 10e6, flopsPerByte: 100 };

function missRate(plan: SimulatedPlan, faked: Uint8Array, k: number, trials: number, seed: number): number {
  return simulatedMissRate(plan, faked, k, H, trials, seed);
}

/** C(n − m, s) / C(n, s): an honest seat's exact miss probability when m of n intervals are wholly faked. */
function hypergeometricMiss(n: number, faked: number, s: number): number {
  let p = 1;
  for (let j = 0; j < s; j++) p *= (n - faked - j) / (n - j);
  return p;
}

describe("verifier daemon: audit plan (issue item 7)", function () {
  describe("closed form", function () {
    it("reproduces the old default: 4 seats × 8 intervals catch a 10 % fake with ≈ 87 %, replaying a third of the FLOPs", function () {
      const p = detectionProbability({ seats: 4, samplesPerSeat: 8, fakedFraction: F, hostileFraction: H });
      expect(p).to.be.closeTo(0.869, 0.001);
      expect((4 * 8 * 100) / 10_000).to.equal(0.32);
    });

    it("finds no sample size for 4 or 5 seats at 30 % hostile stake (h^A ≥ 0.1 %), and the least one from 6 seats", function () {
      expect(minimumSamples(4, F, H, 0.999)).to.equal(null);
      expect(minimumSamples(5, F, H, 0.999)).to.equal(null);
      expect(detectionProbability({ seats: 4, samplesPerSeat: 1e6, fakedFraction: F, hostileFraction: H })).to.be.below(0.992);
      for (let a = 6; a <= 32; a++) {
        const s = minimumSamples(a, F, H, 0.999)!;
        expect(detectionProbability({ seats: a, samplesPerSeat: s, fakedFraction: F, hostileFraction: H }), `A=${a}`).to.be.at.least(0.999);
        expect(detectionProbability({ seats: a, samplesPerSeat: s - 1, fakedFraction: F, hostileFraction: H }), `A=${a}`).to.be.below(
          0.999,
        );
      }
    });

    it("gives the least collateral that leaves every faked fraction unprofitable (f = 100 % is the worst)", function () {
      // The old default catches a full fake with 1 − 0.3⁴ only: a break-even worker needs a little collateral.
      const old = unprofitableCollateral({ seats: 4, samplesPerSeat: 8, hostileFraction: H, challengerShare: 0.5 });
      expect(old).to.be.closeTo((1 / (1 - H ** 4) - 1) / 0.5, 1e-9);
      const plan = auditPlan(JOB);
      const c = unprofitableCollateral({
        seats: plan.seats,
        samplesPerSeat: plan.samplesPerSeat,
        hostileFraction: H,
        challengerShare: 0.5,
      });
      expect(c).to.be.below(old);
      // At that collateral no faked fraction pays; a little less and the worst one does.
      for (const f of [0.001, 0.01, 0.1, 0.5, 1]) {
        const caught = detectionProbability({ seats: 4, samplesPerSeat: 8, fakedFraction: f, hostileFraction: H });
        expect(f * 1 - caught * (1 + old * 0.5)).to.be.at.most(1e-12);
      }
      expect(
        1 - detectionProbability({ seats: 4, samplesPerSeat: 8, fakedFraction: 1, hostileFraction: H }) * (1 + old * 0.99 * 0.5),
      ).to.be.above(0);
      // A job whose compute costs twice its reward needs real collateral: f·C/P(f) grows with C.
      expect(
        unprofitableCollateral({ seats: 4, samplesPerSeat: 8, hostileFraction: H, challengerShare: 0.5, computeCost: 2 }),
      ).to.be.closeTo((2 / (1 - H ** 4) - 1) / 0.5, 1e-9);
    });
  });

  describe("the plan", function () {
    it("for T = 10⁴, k = 100, 10 MB states: ≥ 99.9 % with ≤ 2 % of the FLOPs, by single-step checks", function () {
      const plan = auditPlan(JOB);
      expect(plan.detection).to.be.at.least(0.999);
      expect(plan.flopsFraction).to.be.at.most(0.02);
      expect(plan.check).to.equal("single-step");
      expect(plan.stepsPerCheck).to.equal(1);
      expect(plan.seats).to.be.within(6, 32);
      expect(plan.fetchedBytes).to.equal(plan.seats * plan.samplesPerSeat * 2 * JOB.stateBytes);
    });

    it("takes the fewest checks A·s of any seat count (fewest seats on a tie)", function () {
      const plan = auditPlan(JOB);
      for (let a = 1; a <= 32; a++) {
        const s = minimumSamples(a, F, H, 0.999);
        if (s === null) continue;
        expect(a * s, `A=${a}`).to.be.at.least(plan.seats * plan.samplesPerSeat);
        if (a * s === plan.seats * plan.samplesPerSeat) expect(a).to.be.at.least(plan.seats);
      }
    });

    it("meets the target within the budget for every T ≥ 10⁴, k, state ≤ 10 MB and step cost", function () {
      for (const totalSteps of [10_000, 100_000, 1_000_000]) {
        for (const stepsPerInterval of [10, 100, 1000]) {
          for (const stateBytes of [1e3, 1e6, 10e6]) {
            for (const flopsPerStep of [1e6, 1e9, 1e12]) {
              const plan = auditPlan({ totalSteps, stepsPerInterval, stateBytes, flopsPerStep, flopsPerByte: 100 });
              const label = JSON.stringify({ totalSteps, stepsPerInterval, stateBytes, flopsPerStep });
              expect(plan.detection, label).to.be.at.least(0.999);
              expect(plan.flopsFraction, label).to.be.at.most(0.02);
              expect(plan.samplesPerSeat, label).to.be.at.most(totalSteps / stepsPerInterval);
            }
          }
        }
      }
    });

    it("replays whole intervals where states dominate the cost and the budget allows (T = 10⁶, 10 MB states, cheap steps)", function () {
      const plan = auditPlan({ totalSteps: 1_000_000, stepsPerInterval: 100, flopsPerStep: 1e6, stateBytes: 10e6, flopsPerByte: 100 });
      expect(plan.check).to.equal("replay");
      expect(plan.stepsPerCheck).to.equal(100);
      expect(plan.flopsFraction).to.be.at.most(0.02);
    });

    it("checks single steps where a step costs more than fetching its states, even when replays would fit", function () {
      const plan = auditPlan({ totalSteps: 1_000_000, stepsPerInterval: 100, flopsPerStep: 1e12, stateBytes: 10e6, flopsPerByte: 100 });
      expect((plan.seats * plan.samplesPerSeat * 100) / 1_000_000).to.be.at.most(0.02); // a replay would fit the budget
      expect(plan.check).to.equal("single-step");
    });

    it("never replays beyond the FLOP budget however large the states (T = 10⁴)", function () {
      const plan = auditPlan({ ...JOB, flopsPerStep: 1, stateBytes: 10e6 });
      expect(plan.check).to.equal("single-step");
    });

    it("refuses, naming the hostile-share bound, when the seats cannot outnumber 30 % hostile stake (today's 4 seats)", function () {
      const err = (() => {
        try {
          auditPlan({ ...JOB, maxSeats: 4 });
        } catch (e) {
          return e;
        }
      })();
      expect(err).to.be.instanceOf(AuditPlanInfeasibleError);
      expect((err as AuditPlanInfeasibleError).shortMessage).to.match(/hostile share 0.3 over at most 4 seats/);
    });

    it("refuses, naming the budget, when even single-step checks exceed the FLOPs budget (T too short)", function () {
      expect(() => auditPlan({ ...JOB, totalSteps: 2_000, stepsPerInterval: 10 })).to.throw(
        AuditPlanInfeasibleError,
        /within 0.02 of the training FLOPs/,
      );
    });

    it("refuses, naming the samples cap, when a seat would need more intervals than the job has", function () {
      expect(() => auditPlan({ ...JOB, stepsPerInterval: 5000, maxSeats: 8 })).to.throw(AuditPlanInfeasibleError, /samples per seat/);
    });

    it("rejects malformed parameters with a typed error naming the field", function () {
      for (const [bad, field] of [
        [{ totalSteps: 0 }, "totalSteps"],
        [{ totalSteps: 10_001 }, "totalSteps"],
        [{ stateBytes: -1 }, "stateBytes"],
        [{ fakedFraction: 0 }, "fakedFraction"],
        [{ hostileFraction: 1 }, "hostileFraction"],
        [{ target: 1 }, "target"],
        [{ maxFlopsFraction: 0 }, "maxFlopsFraction"],
        [{ replayCostFactor: 0.5 }, "replayCostFactor"],
        [{ maxSeats: 0 }, "maxSeats"],
      ] as const) {
        expect(() => auditPlan({ ...JOB, ...bad }), field).to.throw(VerifierDaemonError, new RegExp(field));
      }
    });
  });

  describe("Monte-Carlo check of the closed form (seats hostile by stake share, distinct intervals per seat)", function () {
    this.timeout(120_000);
    const n = 100;
    const k = 100;
    const fakes = arrangements(n, k, F);

    it("matches the exact detection of the old default (4 × 8, replays) on 10 faked whole intervals: ≈ 87 %", function () {
      const trials = 20_000;
      const exact = 1 - (H + (1 - H) * hypergeometricMiss(n, 10, 8)) ** 4;
      const measured = 1 - missRate({ seats: 4, samplesPerSeat: 8, check: "replay" }, fakes.wholeIntervals, k, trials, 1);
      const sigma = Math.sqrt((exact * (1 - exact)) / trials);
      expect(measured).to.be.closeTo(exact, 4 * sigma);
      // The closed form (with replacement) is a lower bound a few tenths of a percent below.
      expect(detectionProbability({ seats: 4, samplesPerSeat: 8, fakedFraction: F, hostileFraction: H })).to.be.within(exact - 0.01, exact);
    });

    it("matches (1 − f)^s exactly for single-step checks on evenly spread fakes, the worst arrangement", function () {
      const trials = 20_000;
      const plan = { seats: 6, samplesPerSeat: 4, check: "single-step" } as const;
      const p = detectionProbability({ ...plan, fakedFraction: F, hostileFraction: H });
      const measured = 1 - missRate(plan, fakes.spread, k, trials, 2);
      expect(measured).to.be.closeTo(p, 4 * Math.sqrt((p * (1 - p)) / trials));
    });

    it("catches every arrangement of a 10 % fake with ≥ 99.9 % under the plan for T = 10⁴", function () {
      const plan = auditPlan(JOB);
      const trials = 40_000;
      // Misses expected at most (1 − detection)·trials ≈ 31; a plan at 99.5 % would miss ≈ 200.
      const allowed = (1 - plan.detection) * trials + 4 * Math.sqrt((1 - plan.detection) * trials);
      let seed = 10;
      for (const [name, faked] of Object.entries(fakes)) {
        const missed = missRate(plan, faked, k, trials, seed++) * trials;
        expect(missed, name).to.be.at.most(allowed);
      }
    });

    it("replays catch scattered fakes almost surely, single-step checks only at the worst-case rate", function () {
      const trials = 5_000;
      const plan = { seats: 4, samplesPerSeat: 2 } as const;
      const replay = 1 - missRate({ ...plan, check: "replay" }, fakes.randomSteps, k, trials, 3);
      const single = 1 - missRate({ ...plan, check: "single-step" }, fakes.randomSteps, k, trials, 4);
      expect(replay).to.be.at.least(1 - H ** 4 - 0.005);
      expect(single).to.be.below(replay - 0.2);
    });
  });
});
