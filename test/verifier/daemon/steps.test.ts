/**
 * The single steps an audit checks per sampled interval (v3 V7.2): derived from the audit seed
 * like the sample itself, distinct, inside the interval, and different for every verifier and
 * interval, so a worker cannot know before the seed which steps anyone will look at.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import { auditSteps, DEFAULT_SINGLE_STEPS } from "../../../verifier/daemon/audit/steps";
import { auditSample } from "../../../verifier/daemon/audit/sample";
import { VerifierDaemonError } from "../../../verifier/daemon/errors";

const SEED = ethers.id("audit-seed");
const V1 = "0x00000000000000000000000000000000000000a1";
const V2 = "0x00000000000000000000000000000000000000a2";
const base = { auditSeed: SEED, jobId: 7n, verifier: V1, interval: 3, k: 16, u: 4 };

describe("audit single-step choice (V7.2)", function () {
  it("is deterministic: the same inputs give the same steps", function () {
    expect(auditSteps(base)).to.deep.equal(auditSteps({ ...base }));
  });

  it("gives min(u, k) distinct steps in [0, k)", function () {
    for (const [k, u] of [[16, 4], [3, 3], [5, 9], [1, 2], [64, DEFAULT_SINGLE_STEPS]] as const) {
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
