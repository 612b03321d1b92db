/**
 * Attack 8 (issue 12): appeal to void.
 *
 * Pre-v3: HEAD~1 contracts/JobMarket.sol `createJob` (line 208) never compared `jurorLock` with the
 * collateral, and HEAD~1 contracts/DisputeManager.sol `resolve` (lines 397-405) treated an appeal
 * round that missed quorum like any failed round: after `maxRounds` misses `_closeWithoutConviction
 * (…, Void)` with the bond refunded, erasing the appealed WorkerFault. On the old code the
 * JurorLockTooLow expectation fails (the job is created) and the appealed conviction ends Void.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  JobStatus,
  Phase,
  Ruling,
  claimAndSubmit,
  commitAndOpen,
  createJob,
  deployAdversarial,
  draw,
  finalizeRuling,
  jobParams,
  pinpoint,
  ruleRound,
  vote,
} from "./fixture";

describe("adversarial: appeal to void", () => {
  it("createJob refuses a collateral the juror lock does not cover (jurorLock < collateral/(M-quorum+1))", async () => {
    const fx = await loadFixture(deployAdversarial);
    const p = fx.params.dispute;
    const seats = BigInt(p.committeeSize - p.quorum + 1);
    const collateral = p.jurorLock * seats + 1n;
    await expect(fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx, { collateral })))
      .to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerJurorLockTooLow")
      .withArgs(p.jurorLock, p.jurorLock + 1n);
    // At the bound it is accepted.
    await expect(fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx, { collateral: p.jurorLock * seats }))).to.emit(
      fx.jobMarket,
      "JobCreated",
    );
  });

  it("a convicted worker's appeal that misses quorum leaves WorkerFault standing: appeal bond lost, worker slashed", async () => {
    const fx = await loadFixture(deployAdversarial);
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const collateral = (await fx.jobMarket.getJob(jobId)).collateral;
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);
    await ruleRound(fx, id, Ruling.WorkerFault);
    expect((await fx.disputeManager.getDispute(id)).ruling).to.equal(Ruling.WorkerFault);

    // The worker appeals; its jurors stay silent so the appeal round misses quorum.
    await expect(fx.disputeManager.connect(fx.worker).appeal(id)).to.emit(fx.disputeManager, "Appealed");
    const appealJurors = await draw(fx, id);
    expect(appealJurors.length).to.equal(2 * fx.params.dispute.committeeSize + 1);
    await vote(
      fx,
      id,
      appealJurors,
      appealJurors.map(() => 0),
    );
    const d = await fx.disputeManager.getDispute(id);
    expect(d.phase).to.equal(Phase.Ruled);
    expect(d.ruling).to.equal(Ruling.WorkerFault);

    const before = await fx.stakeManager.account(fx.worker.address);
    await expect(finalizeRuling(fx, id)).to.emit(fx.disputeManager, "WorkerConvicted");
    expect((await fx.disputeManager.getDispute(id)).ruling).to.equal(Ruling.WorkerFault);
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
    const after = await fx.stakeManager.account(fx.worker.address);
    expect(before.free + before.locked - (after.free + after.locked)).to.equal(collateral);
    // The appeal bond is not refunded to the worker.
    expect(await fx.disputeManager.credits(fx.worker.address)).to.equal(0n);
    expect((await fx.disputeManager.getAppeal(id, 0)).appellant).to.equal(fx.worker.address);
  });
});
