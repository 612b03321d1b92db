/**
 * Attack 7 (issue 12): stuck dispute.
 *
 * Pre-v3 (HEAD~1 contracts/lib/DisputeLogic.sol): `invalidParam` accepted `committeeSize` up to 31
 * (line 56) and `committeeSize()` capped later rounds at MAX_COMMITTEE = 127 (line 13), while
 * StakeManager.drawJurors reverts above MAX_DRAW = 64: `drawCommittee` reverted forever and the
 * job's funds were locked. And a draw that found nobody had no way out. On the old code the
 * setParams expectation fails (the parameters are accepted).
 */
import { expect } from "chai";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  JobStatus,
  Phase,
  REWARD,
  Ruling,
  INTERVALS,
  claimAndSubmit,
  commitAndOpen,
  createJob,
  deployAdversarial,
  passWindow,
  pinpoint,
} from "./fixture";

describe("adversarial: stuck dispute", () => {
  it("parameters whose later committee exceeds the draw cap are refused", async () => {
    const fx = await loadFixture(deployAdversarial);
    const p = { ...fx.params.dispute, committeeSize: 31, quorum: 16 };
    await expect(fx.disputeManager.setParams(p))
      .to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerInvalidParam")
      .withArgs("committeeSize");
    // 15 → 31 → 63 fits.
    await expect(fx.disputeManager.setParams({ ...p, committeeSize: 15, quorum: 8 })).to.emit(fx.disputeManager, "ParamsUpdated");
  });

  it("a draw that finds nobody retries until maxDrawWait, then Voids with the interval's share refunded", async () => {
    const fx = await deployAdversarial(undefined, 0); // no jurors at all
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);
    await mine(fx.params.dispute.randomnessDelay + 1);
    await expect(fx.disputeManager.drawCommittee(id)).to.emit(fx.disputeManager, "RandomnessRetargeted");
    expect((await fx.disputeManager.getDispute(id)).phase).to.equal(Phase.AwaitingDraw);
    await time.increase(fx.params.dispute.maxDrawWait);
    await mine(fx.params.dispute.randomnessDelay + 1);
    const share = REWARD / BigInt(INTERVALS);
    await expect(fx.disputeManager.drawCommittee(id))
      .to.emit(fx.disputeManager, "DisputeClosed")
      .withArgs(id, jobId, Ruling.Void)
      .and.to.emit(fx.jobMarket, "IntervalRefunded")
      .withArgs(jobId, share, REWARD - share);
    const pay = await fx.payToken.getAddress();
    expect(await fx.jobMarket.credits(pay, fx.requester.address)).to.equal(share);
    const p = fx.params.dispute;
    expect(await fx.disputeManager.credits(fx.challenger.address)).to.equal(p.commitBond + p.disputeBond);
    // Funds are not locked: once the hold is over the job finalizes with the rest of the reward.
    const hold = await fx.disputeManager.reopenHold(jobId);
    await passWindow(fx, jobId);
    if (BigInt(await time.latest()) <= hold) await time.increaseTo(hold + 1n);
    await fx.jobMarket.finalize(jobId);
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Finalized);
    expect(await fx.jobMarket.credits(pay, fx.worker.address)).to.equal(REWARD - share);
  });
});
