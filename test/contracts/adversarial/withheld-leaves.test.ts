/**
 * Attack 5 (issue 12): withheld leaves.
 *
 * Pre-v3 (HEAD~1 contracts/DisputeManager.sol): `openDispute` required both checkpoint proofs
 * (`_checkCheckpoints` reverted with DisputeManagerInvalidProof, line 127-129) and `pinpoint` both
 * step proofs (line 190-193): leaves only the worker had could be withheld, the dispute could not be
 * opened (or pinpointed), and `timeoutPinpoint` (line 203) forfeited the challenger's bond on the
 * fixed `d.deadline`. On the old code the empty-proof `openDispute` below reverts.
 */
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { checkpointProof } from "../../helpers/trees";
import {
  ChallengeStatus,
  JobStatus,
  Phase,
  TRAJ,
  claimAndSubmit,
  commitAndOpen,
  createJob,
  deployAdversarial,
  lastChallenge,
  stepRange,
} from "./fixture";

describe("adversarial: withheld leaves", () => {
  async function setup() {
    const fx = await deployAdversarial();
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    // The worker serves nothing: the challenger opens with empty checkpoint proofs.
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1, false);
    const demand = (await fx.disputeManager.getDispute(id)).checkpointDemand;
    return { fx, jobId, id, demand };
  }

  async function answerCheckpoints(fx: Awaited<ReturnType<typeof setup>>["fx"], demand: bigint) {
    const a = checkpointProof(TRAJ, 1);
    const b = checkpointProof(TRAJ, 2);
    await fx.dataAvailability
      .connect(fx.worker)
      .answerCheckpoints(demand, a.stateHash, a.stepRoot, a.proof, b.stateHash, b.stepRoot, b.proof);
  }

  it("withheld checkpoint leaves: the dispute opens anyway and silence convicts via timeoutChallenge", async () => {
    const { fx, jobId, id, demand } = await loadFixture(setup);
    expect(demand).to.not.equal(0n);
    expect((await fx.disputeManager.getDispute(id)).phase).to.equal(Phase.Pinpointing);
    await expect(fx.dataAvailability.timeoutChallenge(demand)).to.be.revertedWithCustomError(
      fx.dataAvailability,
      "DataAvailabilityDeadlineNotPassed",
    );
    await time.increaseTo((await fx.dataAvailability.getChallenge(demand)).deadline + 1n);
    await expect(fx.dataAvailability.timeoutChallenge(demand))
      .to.emit(fx.disputeManager, "WorkerConvicted")
      .withArgs(jobId, id, fx.challenger.address, anyValue, anyValue, anyValue, anyValue, anyValue);
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
    // The challenger keeps its bond.
    const p = fx.params.dispute;
    expect(await fx.disputeManager.credits(fx.challenger.address)).to.be.greaterThanOrEqual(p.commitBond + p.disputeBond);
  });

  it("withheld step leaves: demandStepLeaves, and silence convicts", async () => {
    const { fx, jobId, id, demand } = await loadFixture(setup);
    await answerCheckpoints(fx, demand);
    expect((await fx.dataAvailability.checkpointLeaf(jobId, 1)).known).to.equal(true);
    await fx.dataAvailability.connect(fx.challenger).demandStepLeaves(jobId, id, 1, 0, 3);
    const leaves = await lastChallenge(fx);
    await time.increaseTo((await fx.dataAvailability.getChallenge(leaves)).deadline + 1n);
    await expect(fx.dataAvailability.timeoutChallenge(leaves)).to.emit(fx.disputeManager, "WorkerConvicted");
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
    expect((await fx.disputeManager.getDispute(id)).phase).to.equal(Phase.Closed);
  });

  it("late answers extend the pinpoint deadline: the challenger pinpoints from stored leaves and keeps its bond", async () => {
    const { fx, jobId, id, demand } = await loadFixture(setup);
    const terms = await fx.jobMarket.jobTerms(jobId);
    const d0 = (await fx.disputeManager.getDispute(id)).deadline;
    // The worker answers every demand at the last moment.
    await time.increaseTo((await fx.dataAvailability.getChallenge(demand)).deadline - 2n);
    await answerCheckpoints(fx, demand);
    await fx.dataAvailability.connect(fx.challenger).demandStepLeaves(jobId, id, 1, 0, 2);
    let c = await lastChallenge(fx);
    await time.increaseTo((await fx.dataAvailability.getChallenge(c)).deadline - 2n);
    let r = stepRange(1, 0, 2);
    await fx.dataAvailability.connect(fx.worker).answerStepLeaves(c, r.stateHashes, r.rangeProof);
    await fx.dataAvailability.connect(fx.challenger).demandStepLeaves(jobId, id, 1, 2, 1);
    c = await lastChallenge(fx);
    await time.increaseTo((await fx.dataAvailability.getChallenge(c)).deadline - 2n);
    r = stepRange(1, 2, 1);
    await fx.dataAvailability.connect(fx.worker).answerStepLeaves(c, r.stateHashes, r.rangeProof);
    const answeredAt = BigInt(await time.latest());
    expect((await fx.dataAvailability.getChallenge(c)).status).to.equal(ChallengeStatus.Answered);

    const extended = await fx.disputeManager.pinpointDeadline(id);
    expect(extended).to.equal(answeredAt + terms.pinpointTimeout);
    expect(extended).to.be.greaterThan(d0);
    // Past the original deadline, the challenger's bond cannot be taken...
    await time.increaseTo(d0 + 1n);
    await expect(fx.disputeManager.timeoutPinpoint(id)).to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerDeadlineNotPassed");
    // ...and it pinpoints with the stored leaves (empty proofs).
    const empty = (j: number) => ({ stateHash: TRAJ.stateHashes[2 + j], proof: [] as string[] });
    await expect(fx.disputeManager.connect(fx.challenger).pinpoint(id, 1, empty(1), empty(2))).to.emit(fx.disputeManager, "StepPinpointed");
    expect((await fx.disputeManager.getDispute(id)).phase).to.equal(Phase.AwaitingDraw);
  });
});
