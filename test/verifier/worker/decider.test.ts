import { expect } from "chai";
import { decide, type ChainJobView, type DecideParameters, type PreparedView } from "../../../verifier/worker/decider";

const TOKEN = "0x00000000000000000000000000000000000000A1";
const H = (c: string): string => `0x${c.repeat(64)}`;
const job: ChainJobView = {
  jobId: 1n,
  status: 1,
  paymentToken: TOKEN,
  reward: 10n ** 18n,
  collateral: 10n ** 20n,
  totalSteps: 100n,
  checkpointInterval: 10n,
  numBatches: 5n,
  flopsPerStep: 10n ** 9n,
  stateBytes: 50_000n,
  initialStateHash: H("1"),
  dataRoot: H("2"),
  specHash: H("3"),
  claimDeadline: 1_000n,
  trainingDuration: 3_600n,
};
const prepared: PreparedView = {
  ok: true,
  totalSteps: 100n,
  checkpointInterval: 10n,
  numBatches: 5n,
  declaredFlopsPerStep: 10n ** 9n,
  declaredStateBytes: 50_000n,
  initialStateHash: H("1"),
  dataRoot: H("2"),
  derivedFlopsPerStep: 9n * 10n ** 8n,
  derivedStateBytes: 50_000n,
  artifactBytes: 1_000_000n,
};
// 100 steps × 1e9 FLOPs = 0.1 TFLOP for 1e18: 1e19 per TFLOP.
const base: DecideParameters = {
  job,
  prepared,
  now: 500n,
  freeStake: 10n ** 21n,
  config: {
    acceptedTokens: [{ address: TOKEN, minRewardPerTflop: 10n ** 19n }],
    maxFlopsPerStep: 10n ** 12n,
    maxJobFlops: 10n ** 16n,
    maxStateBytes: 1n << 30n,
    maxArtifactBytes: 1n << 32n,
  },
};
const reason = (p: Partial<DecideParameters>): string => {
  const d = decide({ ...base, ...p });
  return d.accept ? "accept" : d.reason;
};

describe("worker/decider", function () {
  it("accepts a job that meets every rule, exactly at the minimum price", function () {
    expect(reason({})).to.equal("accept");
    expect(reason({ prepared: null })).to.equal("accept");
  });
  it("rejects an unaccepted payment token", function () {
    expect(reason({ job: { ...job, paymentToken: "0x00000000000000000000000000000000000000B2" } })).to.equal("token-not-accepted");
  });
  it("rejects a price below the minimum per TFLOP", function () {
    expect(reason({ job: { ...job, reward: 10n ** 18n - 1n } })).to.equal("price-too-low");
  });
  it("rejects a manifest whose FLOPs per step the graph exceeds (understated), or whose state is bigger", function () {
    expect(reason({ prepared: { ...prepared, derivedFlopsPerStep: 10n ** 9n + 1n } })).to.equal("flops-understated");
    expect(reason({ prepared: { ...prepared, derivedStateBytes: 50_001n } })).to.equal("state-bytes-understated");
  });
  it("rejects a manifest that disagrees with the chain, or failed preparation", function () {
    expect(reason({ prepared: { ...prepared, totalSteps: 99n } })).to.equal("manifest-mismatch");
    expect(reason({ prepared: { ok: false, reason: "artifact-unavailable", message: "x" } })).to.equal("artifact-unavailable");
  });
  it("rejects on status, deadline, size, collateral and stake", function () {
    expect(reason({ job: { ...job, status: 2 } })).to.equal("not-open");
    expect(reason({ now: 1_001n })).to.equal("claim-deadline-passed");
    expect(reason({ job: { ...job, flopsPerStep: 10n ** 12n + 1n } })).to.equal("flops-per-step-too-large");
    expect(reason({ config: { ...base.config, maxJobFlops: 10n ** 10n } })).to.equal("job-too-large");
    expect(reason({ config: { ...base.config, maxStateBytes: 1n } })).to.equal("state-too-large");
    expect(reason({ config: { ...base.config, maxArtifactBytes: 1n } })).to.equal("artifacts-too-large");
    expect(reason({ config: { ...base.config, maxCollateral: 1n } })).to.equal("collateral-too-high");
    expect(reason({ freeStake: 1n })).to.equal("insufficient-stake");
  });
});
