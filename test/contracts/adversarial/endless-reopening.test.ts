/**
 * Attack 3 (issue 12): endless reopening.
 *
 * Pre-v3 (HEAD~1 contracts/DisputeManager.sol): after `timeoutPinpoint` (line 203) the interval was
 * free again and any fresh commitment reopened it, with no limit, while `_forfeitBond` (line 620)
 * paid `replayCost` to the worker and the rest to burn/jurors — and JobMarket.finalize waited for
 * every dispute. v3 allows `reopenDispute` only after Void, once per challenger and interval, and
 * never after windowEnd + maxExtension. On the old code `reopenDispute` does not exist and the
 * BondForfeited(…, 0, 0, bond) expectation fails (worker share = replayCost).
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { DeployParams } from "../../../scripts/lib/params";
import {
  JobStatus,
  REWARD,
  Ruling,
  claimAndSubmit,
  commitAndOpen,
  createJob,
  deployAdversarial,
  draw,
  passWindow,
  pinpoint,
  vote,
} from "./fixture";

describe("adversarial: endless reopening", () => {
  it("a pinpoint timeout cannot be reopened; the forfeited bond reaches neither requester nor worker; finalize pays", async () => {
    const fx = await loadFixture(deployAdversarial);
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await time.increaseTo((await fx.disputeManager.pinpointDeadline(id)) + 1n);
    const bond = fx.params.dispute.disputeBond;
    await expect(fx.disputeManager.timeoutPinpoint(id))
      .to.emit(fx.disputeManager, "BondForfeited")
      .withArgs(id, 0n, 0n, bond)
      .and.to.emit(fx.disputeManager, "DisputeClosed")
      .withArgs(id, jobId, Ruling.ChallengerTimedOut);
    await expect(fx.disputeManager.connect(fx.challenger).reopenDispute(id, 0))
      .to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerCannotReopen")
      .withArgs(id);
    expect(await fx.disputeManager.credits(fx.requester.address)).to.equal(0n);
    expect(await fx.disputeManager.credits(fx.worker.address)).to.equal(0n);
    expect(await fx.disputeManager.reopenHold(jobId)).to.equal(0n);
    await passWindow(fx, jobId);
    await expect(fx.jobMarket.finalize(jobId)).to.emit(fx.jobMarket, "JobFinalized");
    expect(await fx.jobMarket.credits(await fx.payToken.getAddress(), fx.worker.address)).to.equal(REWARD);
  });

  it("a Void reopens once per challenger and interval, never twice, and finalize happens after the hold", async () => {
    const fx = await loadFixture(deployAdversarial);
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);
    // maxRounds first rounds miss quorum: Void.
    for (let r = 0; r < fx.params.dispute.maxRounds; r++) {
      const jurors = await draw(fx, id);
      await vote(
        fx,
        id,
        jurors,
        jurors.map(() => 0),
      );
    }
    expect((await fx.disputeManager.getDispute(id)).ruling).to.equal(Ruling.Void);
    const order = (await fx.disputeManager.getDispute(id)).order;
    await expect(fx.disputeManager.connect(fx.sybil).reopenDispute(id, 0)).to.be.revertedWithCustomError(
      fx.disputeManager,
      "DisputeManagerNotChallenger",
    );
    await expect(fx.disputeManager.connect(fx.challenger).reopenDispute(id, 0)).to.emit(fx.disputeManager, "DisputeReopened");
    const reopened = await fx.disputeManager.disputeCount();
    expect((await fx.disputeManager.getDispute(reopened)).order).to.equal(order);
    // The reopened dispute times out: no second reopening of either.
    await time.increaseTo((await fx.disputeManager.pinpointDeadline(reopened)) + 1n);
    await fx.disputeManager.timeoutPinpoint(reopened);
    await expect(fx.disputeManager.connect(fx.challenger).reopenDispute(id, 0)).to.be.revertedWithCustomError(
      fx.disputeManager,
      "DisputeManagerCannotReopen",
    );
    await expect(fx.disputeManager.connect(fx.challenger).reopenDispute(reopened, 0)).to.be.revertedWithCustomError(
      fx.disputeManager,
      "DisputeManagerCannotReopen",
    );
    // The hold ends at windowEnd (the commitment had expired before it): finalize then pays the worker.
    const job = await fx.jobMarket.getJob(jobId);
    expect(await fx.disputeManager.reopenHold(jobId)).to.equal(job.windowEnd);
    await passWindow(fx, jobId);
    await fx.jobMarket.finalize(jobId);
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Finalized);
    expect(await fx.disputeManager.credits(fx.requester.address)).to.equal(0n);
  });

  it("a Void after windowEnd + maxExtension cannot be reopened", async () => {
    const short = (p: DeployParams) => {
      p.dispute.maxExtension = 60;
    };
    const fx = await deployAdversarial(short);
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    // Committed near the window's end, so the commitment is valid at windowEnd.
    const job = await fx.jobMarket.getJob(jobId);
    await time.increaseTo(job.windowEnd - 600n);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);
    for (let r = 0; r < fx.params.dispute.maxRounds; r++) {
      const jurors = await draw(fx, id);
      await vote(
        fx,
        id,
        jurors,
        jurors.map(() => 0),
      );
    }
    expect((await fx.disputeManager.getDispute(id)).ruling).to.equal(Ruling.Void);
    expect(BigInt(await time.latest())).to.be.greaterThan(job.windowEnd + 60n);
    await expect(fx.disputeManager.connect(fx.challenger).reopenDispute(id, 0)).to.be.revertedWithCustomError(
      fx.disputeManager,
      "DisputeManagerCannotReopen",
    );
    await fx.jobMarket.finalize(jobId);
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Finalized);
  });
});
