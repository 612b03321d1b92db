/**
 * Attack 1 (issue 12): interval squatting.
 *
 * Pre-v3 (HEAD~1 contracts/DisputeManager.sol): `commitChallenge` stored `commitments[c] = block.number`
 * at any time (line 82), and `_createDispute` let an older commitment supersede the active dispute
 * (`if (commitBlock >= active.commitBlock || ...) revert` / `_refundAndClose(activeId, Superseded)`,
 * lines 143-148), so a commitment made before the job existed took the interval from the honest
 * challenger; `timeoutPinpoint` called `_forfeitBond(disputeId, d, false)` (line 206), paying the
 * worker `replayCost`. On the old code the first expectation below (CommitmentBeforeSubmission)
 * fails: the squatter's dispute opens and closes the honest one.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  ChallengeStatus,
  E18,
  JobStatus,
  Phase,
  REWARD,
  Ruling,
  claimAndSubmit,
  commit,
  commitmentOf,
  createJob,
  deployAdversarial,
  finalizeRuling,
  lastChallenge,
  openDispute,
  pinpoint,
  ruleRound,
  saltOf,
  stepRange,
  commitAndOpen,
} from "./fixture";

describe("adversarial: interval squatting", () => {
  it("a commitment made before the job exists or before its submission does not count", async () => {
    const fx = await loadFixture(deployAdversarial);
    const jobId = await fx.jobMarket.nextJobId(); // predictable
    const early = saltOf("before-job");
    await fx.disputeManager.connect(fx.sybil).commitChallenge(commitmentOf(jobId, 1, fx.sybil.address, early));
    await createJob(fx);
    const beforeSubmit = saltOf("before-submit");
    await fx.disputeManager.connect(fx.sybil).commitChallenge(commitmentOf(jobId, 1, fx.sybil.address, beforeSubmit));
    await claimAndSubmit(fx, jobId);
    for (const salt of [early, beforeSubmit]) {
      await expect(openDispute(fx, fx.sybil, jobId, 1, salt)).to.be.revertedWithCustomError(
        fx.disputeManager,
        "DisputeManagerCommitmentBeforeSubmission",
      );
    }
    // The squatter's bonds burn once their TTL passes (never refunded).
    await time.increase(fx.params.dispute.commitTTL + 1);
    const c = commitmentOf(jobId, 1, fx.sybil.address, early);
    await expect(fx.disputeManager.expireCommitment(c))
      .to.emit(fx.disputeManager, "CommitmentExpired")
      .withArgs(c, fx.params.dispute.commitBond);
  });

  it("a sybil dispute that never pinpoints does not stop the honest dispute: conviction, no pay, no replayCost", async () => {
    const fx = await loadFixture(deployAdversarial);
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);

    // The sybil commits first (earlier order) and opens on the faked interval 1.
    const sybilDispute = await commitAndOpen(fx, fx.sybil, jobId, 1);
    // It keeps an availability challenge of its own open as long as it can (the worker answers late).
    await fx.dataAvailability.connect(fx.sybil).demandStepLeaves(jobId, sybilDispute, 1, 0, 3);
    const demand = await lastChallenge(fx);

    // The honest challenger disputes the same interval: it is not superseded.
    const honest = await commitAndOpen(fx, fx.challenger, jobId, 1);
    expect((await fx.disputeManager.getDispute(sybilDispute)).order).to.be.lessThan((await fx.disputeManager.getDispute(honest)).order);
    expect((await fx.disputeManager.getDispute(honest)).phase).to.equal(Phase.Pinpointing);
    await pinpoint(fx, honest, 0);
    const jurors = await ruleRound(fx, honest, Ruling.WorkerFault);
    expect(jurors.length).to.equal(3);

    // The worker answers its sybil's demand just in time (else it is convicted by it).
    const ch = await fx.dataAvailability.getChallenge(demand);
    await time.increaseTo(ch.deadline - 5n);
    const r = stepRange(1, 0, 3);
    await fx.dataAvailability.connect(fx.worker).answerStepLeaves(demand, r.stateHashes, r.rangeProof);
    expect((await fx.dataAvailability.getChallenge(demand)).status).to.equal(ChallengeStatus.Answered);

    // The sybil's own pinpoint deadline passes; its timeout burns the bond and pays the worker nothing.
    const deadline = await fx.disputeManager.pinpointDeadline(sybilDispute);
    expect(deadline).to.be.lessThan((await fx.jobMarket.getJob(jobId)).windowEnd);
    await time.increaseTo(deadline + 1n);
    const bond = fx.params.dispute.disputeBond;
    await expect(fx.disputeManager.timeoutPinpoint(sybilDispute))
      .to.emit(fx.disputeManager, "BondForfeited")
      .withArgs(sybilDispute, 0n, 0n, bond)
      .and.to.emit(fx.disputeManager, "DisputeClosed")
      .withArgs(sybilDispute, jobId, Ruling.ChallengerTimedOut);
    expect(await fx.disputeManager.credits(fx.worker.address)).to.equal(0n);

    // The honest dispute ran on its own deadlines and convicts: bounty to the honest challenger.
    const collateral = (await fx.jobMarket.getJob(jobId)).collateral;
    const bounty = (collateral * BigInt(fx.params.dispute.challengerBps)) / 10_000n;
    await expect(finalizeRuling(fx, honest))
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
    const job = await fx.jobMarket.getJob(jobId);
    expect(job.status).to.equal(JobStatus.Rejected);
    // Worker not paid: no reward credit; the requester got reward + fee back.
    expect(await fx.jobMarket.credits(await fx.payToken.getAddress(), fx.worker.address)).to.equal(0n);
    expect(await fx.jobMarket.credits(await fx.payToken.getAddress(), fx.requester.address)).to.equal(REWARD + 10n * E18);
    // The sybil got nothing from the slash (its leaf bond waits in the DA for settle).
    expect(await fx.disputeManager.credits(fx.sybil.address)).to.equal(fx.params.dispute.commitBond);
    await expect(fx.jobMarket.finalize(jobId)).to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus");
  });

  it("a squatter commitment cannot be opened twice nor supersede (one live dispute per challenger)", async () => {
    const fx = await loadFixture(deployAdversarial);
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const id = await commitAndOpen(fx, fx.sybil, jobId, 1);
    const salt = await commit(fx, fx.sybil, jobId, 1, "again");
    await expect(openDispute(fx, fx.sybil, jobId, 1, salt))
      .to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerAlreadyDisputing")
      .withArgs(jobId, 1, fx.sybil.address, id);
  });
});
