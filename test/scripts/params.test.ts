import { expect } from "chai";
import { DeployConfigError } from "../../scripts/lib/errors";
import { DEADLINE_MARGIN, defaultParams, parseDeployConfig } from "../../scripts/lib/params";

describe("deploy config: deadlines survive censorship (v3 V12)", function () {
  it("accepts the defaults on a chain without a force-inclusion delay", function () {
    expect(parseDeployConfig({ testTokens: true }).forceInclusionDelay).to.equal(0);
  });

  it("names the deadline that an L2's force-inclusion delay would let a censor push past", function () {
    const delay = 86_400; // an L2 whose sequencer may censor for a day
    expect(() => parseDeployConfig({ testTokens: true, forceInclusionDelay: delay })).to.throw(
      DeployConfigError,
      /jobMarket\.challengeWindow = 86400 s is shorter than forceInclusionDelay/,
    );
  });

  it("accepts every deadline at the delay plus the margin, and refuses one second less", function () {
    const delay = 7_200;
    const min = delay + DEADLINE_MARGIN;
    const ok = {
      testTokens: true,
      forceInclusionDelay: delay,
      jobMarket: { challengeWindow: 86_400, timeoutBase: min },
      dispute: { revealWindow: min, appealWindow: min, commitTTL: min, maxDrawWait: 86_400 },
    };
    expect(parseDeployConfig(ok).dispute.commitTTL).to.equal(min);
    expect(() => parseDeployConfig({ ...ok, dispute: { ...ok.dispute, commitTTL: min - 1 } })).to.throw(
      DeployConfigError,
      /dispute\.commitTTL/,
    );
  });

  it("defaults carry every v3 parameter", function () {
    const p = defaultParams();
    expect(p.dispute.commitBond).to.be.greaterThan(0n);
    expect(p.availability.maxOpenPerCase).to.be.at.most(p.availability.maxPerCase);
  });
});

describe("deploy config: canaries and misses (v3 V10, V11)", function () {
  it("parses missPenalty (whole tokens) and canaryEpochLength; defaults keep missPenalty ≤ auditorPenalty", function () {
    const d = defaultParams();
    expect(d.missPenalty).to.be.greaterThan(0n);
    expect(d.missPenalty).to.be.at.most(d.auditorPenalty);
    expect(d.canaryEpochLength).to.equal(86_400);
    const p = parseDeployConfig({ testTokens: true, missPenalty: "2.5", canaryEpochLength: 3_600 });
    expect(p.missPenalty).to.equal(25n * 10n ** 17n);
    expect(p.canaryEpochLength).to.equal(3_600);
  });
});
