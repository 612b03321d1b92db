/**
 * Attack 2 (issue 12): outrunning the finder.
 *
 * Pre-v3 (HEAD~1 contracts/DisputeManager.sol): every conviction paid the convicting dispute's own
 * challenger — `finalizeRuling` called `_convict(disputeId, d, d.challenger, true)` (line 449) and
 * `timeoutChunk` `_convict(disputeId, d, c.challenger, ...)` (line 318) — so the worker's sybil,
 * convicted first on another faked interval, took the bounty. On the old code the beneficiary
 * expectation below fails (it is the sybil).
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { checkpointProof } from "../../helpers/trees";
import {
  JobStatus,
  Phase,
  Ruling,
  TRAJ,
  claimAndSubmit,
  commitAndOpen,
  createJob,
  deployAdversarial,
  pinpoint,
  ruleRound,
  finalizeRuling,
} from "./fixture";

describe("adversarial: outrunning the finder", () => {
  async function setup() {
    const fx = await deployAdversarial();
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    // The honest finder commits and opens first, on interval 1.
    const honest = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, honest, 0);
    // The worker's sybil opens later on interval 2, without checkpoint proofs: the worker must post them.
    const sybil = await commitAndOpen(fx, fx.sybil, jobId, 2, false);
    return { fx, jobId, honest, sybil };
  }

  it("the worker's silence in the sybil's dispute convicts, but the bounty goes to the earlier honest dispute", async () => {
    const { fx, jobId, honest, sybil } = await loadFixture(setup);
    expect(await fx.disputeManager.bountyDispute(jobId)).to.equal(honest);
    const demand = (await fx.disputeManager.getDispute(sybil)).checkpointDemand;
    expect(demand).to.not.equal(0n);
    await time.increaseTo((await fx.dataAvailability.getChallenge(demand)).deadline + 1n);

    const collateral = (await fx.jobMarket.getJob(jobId)).collateral;
    const bounty = (collateral * BigInt(fx.params.dispute.challengerBps)) / 10_000n;
    const openerFee = fx.params.availability.openerFee;
    await expect(fx.dataAvailability.timeoutChallenge(demand))
      .to.emit(fx.disputeManager, "WorkerConvicted")
      .withArgs(
        jobId,
        sybil,
        fx.challenger.address,
        collateral,
        bounty,
        (collateral * 2000n) / 10_000n,
        (collateral * 2000n) / 10_000n,
        (collateral * 1000n) / 10_000n,
      );
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);

    // The sybil: its bonds back plus at most the opener fee; the honest challenger the rest of the bounty.
    const p = fx.params.dispute;
    expect(await fx.disputeManager.credits(fx.sybil.address)).to.equal(p.commitBond + p.disputeBond + openerFee);
    expect((await fx.disputeManager.getDispute(sybil)).ruling).to.equal(Ruling.WorkerFault);
    // The honest dispute is moot: closed with its bond refunded.
    await fx.disputeManager.closeMoot(honest);
    expect((await fx.disputeManager.getDispute(honest)).phase).to.equal(Phase.Closed);
    expect(await fx.disputeManager.credits(fx.challenger.address)).to.equal(p.commitBond + bounty - openerFee + p.disputeBond);
    // Net for the worker + sybil: the whole collateral slashed, openerFee recovered.
    expect(openerFee * 10n).to.be.lessThan(collateral);
  });

  it("a sybil dispute convicting by its committee first also pays the honest challenger", async () => {
    const { fx, jobId, honest, sybil } = await loadFixture(setup);
    // The worker posts its checkpoints so that the sybil's dispute can run; the sybil pinpoints and
    // its committee convicts before the honest one.
    const demand = (await fx.disputeManager.getDispute(sybil)).checkpointDemand;
    const a = checkpointProof(TRAJ, 2);
    const b = checkpointProof(TRAJ, 3);
    await fx.dataAvailability
      .connect(fx.worker)
      .answerCheckpoints(demand, a.stateHash, a.stepRoot, a.proof, b.stateHash, b.stepRoot, b.proof);
    await pinpoint(fx, sybil, 1);
    await ruleRound(fx, sybil, Ruling.WorkerFault);
    const collateral = (await fx.jobMarket.getJob(jobId)).collateral;
    const bounty = (collateral * BigInt(fx.params.dispute.challengerBps)) / 10_000n;
    await expect(finalizeRuling(fx, sybil))
      .to.emit(fx.disputeManager, "WorkerConvicted")
      .withArgs(
        jobId,
        sybil,
        fx.challenger.address,
        collateral,
        bounty,
        (collateral * 2000n) / 10_000n,
        (collateral * 2000n) / 10_000n,
        (collateral * 1000n) / 10_000n,
      );
    const p = fx.params.dispute;
    expect(await fx.disputeManager.credits(fx.sybil.address)).to.equal(p.commitBond + p.disputeBond);
    await fx.disputeManager.closeMoot(honest);
  });
});
