/**
 * Attack 11 (issue 12): Indeterminate as acquittal.
 *
 * Pre-v3 (HEAD~1 contracts/lib/DisputeLogic.sol `tally`, lines 68-74): WorkerFault needed a strict
 * plurality over Indeterminate too (`fault > honest && fault > indeterminate`), so 2 Fault / 2
 * Indeterminate / 1 Honest was not a conviction; and an Indeterminate ruling closed the dispute with
 * the bond refunded (HEAD~1 DisputeManager.finalizeRuling, lines 455-460), after which the worker was
 * paid in full. On the old code the WorkerFault expectation below fails (WorkerHonest), and the
 * dispute closes instead of going back to Pinpointing.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { DeployParams } from "../../../scripts/lib/params";
import {
  JobStatus,
  Phase,
  REWARD,
  Ruling,
  claimAndSubmit,
  commitAndOpen,
  createJob,
  deployAdversarial,
  finalizeRuling,
  passWindow,
  pinpoint,
  ruleRound,
  INTERVALS,
} from "./fixture";

const five = (p: DeployParams) => {
  p.dispute.committeeSize = 5;
  p.dispute.quorum = 3;
};

describe("adversarial: Indeterminate as acquittal", () => {
  async function setup() {
    const fx = await deployAdversarial(five, 12);
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    return { fx, jobId, id };
  }

  it("2 Fault / 2 Indeterminate / 1 Honest is WorkerFault", async () => {
    const { fx, jobId, id } = await loadFixture(setup);
    await pinpoint(fx, id, 0);
    const jurors = await ruleRound(fx, id, [
      Ruling.WorkerFault,
      Ruling.WorkerFault,
      Ruling.Indeterminate,
      Ruling.Indeterminate,
      Ruling.WorkerHonest,
    ]);
    expect(jurors.length).to.equal(5);
    const d = await fx.disputeManager.getDispute(id);
    expect(d.phase).to.equal(Phase.Ruled);
    expect(d.ruling).to.equal(Ruling.WorkerFault);
    await expect(finalizeRuling(fx, id)).to.emit(fx.disputeManager, "WorkerConvicted");
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
  });

  it("Indeterminate judges no step; three of them end Unresolved: share refunded, no slash, bond back, worker never paid it", async () => {
    const { fx, jobId, id } = await loadFixture(setup);
    const pay = await fx.payToken.getAddress();
    const total = async () => {
      const a = await fx.stakeManager.account(fx.worker.address);
      return a.free + a.locked;
    };
    const stakeBefore = await total();
    for (const [n, step] of [
      [1, 0],
      [2, 1],
      [3, 0],
    ] as const) {
      await pinpoint(fx, id, step);
      await ruleRound(fx, id, [Ruling.Indeterminate, Ruling.Indeterminate, Ruling.Indeterminate, Ruling.WorkerFault, Ruling.WorkerHonest]);
      expect((await fx.disputeManager.getDispute(id)).ruling).to.equal(Ruling.Indeterminate);
      const tx = finalizeRuling(fx, id);
      if (n < 3) {
        await expect(tx).to.emit(fx.disputeManager, "PinpointReopened");
        expect((await fx.disputeManager.getDispute(id)).phase).to.equal(Phase.Pinpointing);
        expect(await fx.disputeManager.stepJudged(jobId, 2 + step)).to.equal(false);
      } else {
        await expect(tx)
          .to.emit(fx.disputeManager, "DisputeClosed")
          .withArgs(id, jobId, Ruling.Unresolved)
          .and.to.emit(fx.jobMarket, "IntervalRefunded")
          .withArgs(jobId, REWARD / BigInt(INTERVALS), REWARD - REWARD / BigInt(INTERVALS));
      }
    }
    // A fourth pinpoint is impossible: the dispute is closed.
    expect((await fx.disputeManager.getDispute(id)).pinpoints).to.equal(3);
    const share = REWARD / BigInt(INTERVALS);
    expect(await fx.jobMarket.credits(pay, fx.requester.address)).to.equal(share);
    const p = fx.params.dispute;
    expect(await fx.disputeManager.credits(fx.challenger.address)).to.be.greaterThanOrEqual(p.commitBond + p.disputeBond);
    expect(await fx.disputeManager.credits(fx.worker.address)).to.equal(0n);
    // No slash; the worker is paid the other intervals only.
    await passWindow(fx, jobId);
    await fx.jobMarket.finalize(jobId);
    expect(await fx.jobMarket.credits(pay, fx.worker.address)).to.equal(REWARD - share);
    expect(await total()).to.equal(stakeBefore);
  });
});
