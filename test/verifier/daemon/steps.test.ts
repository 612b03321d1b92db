/**
 * The single steps an audit checks per sampled interval (v3 V7.2): derived from the audit seed
 * like the sample itself, distinct, inside the interval, and different for every verifier and
 * interval, so a worker cannot know before the seed which steps anyone will look at.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import { auditSteps, DEFAULT_SINGLE_STEPS } from "../../../verifier/daemon/audit/steps";
import { auditSample } from "../../../verifier/protocol/auditSample";
import { VerifierDaemonError } from "../../../verifier/daemon/errors";
import { WORKER_DEFAULTS } from "../../../verifier/worker/config";
import { defaultParams } from "../../../scripts/lib/params";

const SEED = ethers.id("audit-seed");
const V1 = "0x00000000000000000000000000000000000000a1";
const V2 = "0x00000000000000000000000000000000000000a2";
const base = { auditSeed: SEED, jobId: 7n, verifier: V1, interval: 3, k: 16, u: 4 };

describe("audit single-step choice (V7.2)", function () {
  it("default u: the smallest that flags a cheat on an eighth of the steps with ≥ 99 % per interval", function () {
    expect(1 - 0.875 ** DEFAULT_SINGLE_STEPS).to.be.at.least(0.99);
    expect(1 - 0.875 ** (DEFAULT_SINGLE_STEPS - 1)).to.be.below(0.99);
  });

  it("the worker's default state quota covers a whole audit at the default u by one account holding every default seat", function () {
    // Inner states an audit fetches: S_j and S_{j+1} of each checked step; S_0 and S_k are the checkpoints.
    const { auditorsPerJob, samplesPerAuditor } = defaultParams().jobMarket;
    for (const k of [8, 17, 35, 100, 1000]) {
      const intervals = auditSample({
        auditSeed: SEED,
        jobId: 7n,
        verifier: V1,
        checkpointCount: 1 + 64,
        samples: auditorsPerJob * samplesPerAuditor,
      });
      let states = 0;
      for (const i of intervals) {
        const inner = new Set(
          auditSteps({ ...base, interval: i, k, u: DEFAULT_SINGLE_STEPS })
            .flatMap((j) => [j, j + 1])
            .filter((j) => j > 0 && j < k),
        );
        expect(inner.size).to.be.at.most(Math.min(2 * DEFAULT_SINGLE_STEPS, k - 1));
        states += inner.size;
      }
      expect(states, `k = ${k}`).to.be.at.most(WORKER_DEFAULTS.stateQuota);
    }
  });

  it("is deterministic: the same inputs give the same steps", function () {
    expect(auditSteps(base)).to.deep.equal(auditSteps({ ...base }));
  });

  it("gives min(u, k) distinct steps in [0, k)", function () {
    for (const [k, u] of [
      [16, 4],
      [3, 3],
      [5, 9],
      [1, 2],
      [64, DEFAULT_SINGLE_STEPS],
    ] as const) {
      const s = auditSteps({ ...base, k, u });
      expect(s).to.have.length(Math.min(u, k));
      expect(new Set(s).size).to.equal(s.length);
      for (const j of s) expect(j).to.be.within(0, k - 1);
    }
    expect([...auditSteps({ ...base, k: 5, u: 9 })].sort()).to.deep.equal([0, 1, 2, 3, 4]);
    expect(auditSteps({ ...base, u: 0 })).to.deep.equal([]);
  });

  it("depends on the seed, the job, the verifier and the interval", function () {
    const wide = { ...base, k: 1_000_000, u: 3 };
    const s = auditSteps(wide);
    expect(auditSteps({ ...wide, auditSeed: ethers.id("other") })).to.not.deep.equal(s);
    expect(auditSteps({ ...wide, jobId: 8n })).to.not.deep.equal(s);
    expect(auditSteps({ ...wide, verifier: V2 })).to.not.deep.equal(s);
    expect(auditSteps({ ...wide, interval: 4 })).to.not.deep.equal(s);
  });

  it("is not the interval sample of the same seed (domain-separated)", function () {
    // With k = intervals, an untagged rule would draw the very same numbers as the sample.
    const n = 1_000_000;
    const sample = auditSample({ auditSeed: SEED, jobId: 7n, verifier: V1, checkpointCount: n + 1, samples: 3 });
    for (let i = 0; i < 3; i++) expect(auditSteps({ ...base, k: n, u: 3, interval: i })).to.not.deep.equal(sample);
  });

  it("covers every step about equally over many intervals", function () {
    const k = 8;
    const hits = new Array<number>(k).fill(0);
    for (let i = 0; i < 800; i++) for (const j of auditSteps({ ...base, k, u: 1, interval: i })) hits[j]!++;
    for (const h of hits) expect(h).to.be.within(60, 140); // 100 expected; ±4σ
  });

  it("refuses malformed parameters with a typed error naming the field", function () {
    expect(() => auditSteps({ ...base, k: 0 })).to.throw(VerifierDaemonError, "k must be an integer ≥ 1");
    expect(() => auditSteps({ ...base, u: -1 })).to.throw(VerifierDaemonError, "u must be");
    expect(() => auditSteps({ ...base, interval: 1.5 })).to.throw(VerifierDaemonError, "interval must be");
  });
});
