/**
 * Attack 4 (issue 12): self-conviction bounty.
 *
 * Pre-v3 (HEAD~1 contracts/DisputeManager.sol): `challengeChunk` / `challengeBatchChunk` (lines
 * 241-275) let anyone open a chunk challenge in any live dispute, and `timeoutChunk` convicted with
 * the chunk challenger as beneficiary (`_convict(disputeId, d, c.challenger, ...)`, line 318): the
 * worker's sybil opened one in the honest dispute, let it expire and took `challengerBps` of the
 * collateral. On the old code the DataAvailabilityNotAllowed expectations fail (the challenge opens).
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  ChallengeStatus,
  JobStatus,
  claimAndSubmit,
  commitAndOpen,
  createJob,
  deployAdversarial,
  draw,
  lastChallenge,
  pinpoint,
  stepRange,
} from "./fixture";

describe("adversarial: self-conviction bounty", () => {
  async function setup() {
    const fx = await deployAdversarial();
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const honest = await commitAndOpen(fx, fx.challenger, jobId, 1);
    return { fx, jobId, honest };
  }

  it("the worker's sybil (neither challenger nor juror) cannot open availability challenges in the honest dispute", async () => {
    const { fx, jobId, honest } = await loadFixture(setup);
    const da = fx.dataAvailability;
    await expect(da.connect(fx.sybil).demandStepLeaves(jobId, honest, 1, 0, 3))
      .to.be.revertedWithCustomError(da, "DataAvailabilityNotAllowed")
      .withArgs(jobId, honest, fx.sybil.address);
    // Leaves known (anyone may store them), still no chunk challenge for the sybil.
    const r = stepRange(1, 0, 3);
    await da.connect(fx.stranger).proveStepLeaves(jobId, 1, 0, r.stateHashes, r.rangeProof);
    await expect(da.connect(fx.sybil).challengeStateChunk(jobId, honest, 1, 0, 0))
      .to.be.revertedWithCustomError(da, "DataAvailabilityNotAllowed")
      .withArgs(jobId, honest, fx.sybil.address);
    // Nor without a dispute: it is not an assigned auditor.
    await expect(da.connect(fx.sybil).challengeStateChunk(jobId, 0, 1, 0, 0))
      .to.be.revertedWithCustomError(da, "DataAvailabilityNotAllowed")
      .withArgs(jobId, 0, fx.sybil.address);
    // Nor as the worker itself.
    await expect(da.connect(fx.worker).challengeStateChunk(jobId, honest, 1, 0, 0))
      .to.be.revertedWithCustomError(da, "DataAvailabilityNotAllowed")
      .withArgs(jobId, honest, fx.worker.address);
    // A drawn juror may (the challenger's own pinpoint started the round); the sybil still may not.
    await pinpoint(fx, honest, 0);
    const jurors = await draw(fx, honest);
    await expect(da.connect(jurors[0]).challengeStateChunk(jobId, honest, 1, 0, 0)).to.emit(da, "ChallengeOpened");
    await expect(da.connect(fx.sybil).challengeStateChunk(jobId, honest, 1, 1, 0)).to.be.revertedWithCustomError(
      da,
      "DataAvailabilityNotAllowed",
    );
    expect(await fx.disputeManager.isChallengeParty(jobId, honest, fx.sybil.address)).to.equal(false);
  });

  it("an unanswered challenge of the honest challenger convicts with the challenger as beneficiary", async () => {
    const { fx, jobId, honest } = await loadFixture(setup);
    const da = fx.dataAvailability;
    await da.connect(fx.challenger).demandStepLeaves(jobId, honest, 1, 0, 3);
    const id = await lastChallenge(fx);
    await time.increaseTo((await da.getChallenge(id)).deadline + 1n);
    const collateral = (await fx.jobMarket.getJob(jobId)).collateral;
    const bounty = (collateral * BigInt(fx.params.dispute.challengerBps)) / 10_000n;
    await expect(da.connect(fx.sybil).timeoutChallenge(id))
      .to.emit(fx.disputeManager, "WorkerConvicted")
      .withArgs(
        jobId,
        honest,
        fx.challenger.address,
        collateral,
        bounty,
        (collateral * 2000n) / 10_000n,
        (collateral * 2000n) / 10_000n,
        (collateral * 1000n) / 10_000n,
      );
    expect((await da.getChallenge(id)).status).to.equal(ChallengeStatus.TimedOut);
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
    const p = fx.params.dispute;
    // Full bounty (opener = beneficiary: no opener fee split), bonds back.
    expect(await fx.disputeManager.credits(fx.challenger.address)).to.equal(p.commitBond + bounty + p.disputeBond);
    expect(await da.credits(fx.challenger.address)).to.equal(fx.params.availability.leafBond);
    // The sybil who triggered the timeout gets nothing.
    expect(await fx.disputeManager.credits(fx.sybil.address)).to.equal(0n);
    expect(await da.credits(fx.sybil.address)).to.equal(0n);
  });
});
