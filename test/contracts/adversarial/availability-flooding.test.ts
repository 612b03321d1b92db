/**
 * Attack 6 (issue 12): availability flooding.
 *
 * Pre-v3 (HEAD~1 contracts/DisputeManager.sol `_openChunk`, lines 520-541): any number of chunk
 * challenges could be opened at once, each due a fixed `answerTimeout` after opening, so a flood
 * exceeded what an honest worker could answer in time; there was no cap per dispute and (v3's leaf
 * demands aside) no bound on how much had to be posted in one answer. On the old code the
 * TooManyOpen / TooManyChallenges expectations fail (the challenges open) and deadlines are equal.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { fakeFile, fileTrajectory } from "../../helpers/trees";
import {
  ChallengeStatus,
  JobStatus,
  REWARD,
  claimAndSubmit,
  commit,
  commitAndOpen,
  createJob,
  deployAdversarial,
  lastChallenge,
  openDispute,
  passWindow,
  stateChunk,
  stepRange,
} from "./fixture";

/** Small caps keep the flood short; the rule is the same at the defaults (32 open, 4,096 in all). */
function smallCaps(): Promise<Awaited<ReturnType<typeof deployAdversarial>>> {
  return deployAdversarial((p) => {
    p.availability.maxOpenPerCase = 4;
    p.availability.maxPerCase = 16;
  });
}

describe("adversarial: availability flooding", () => {
  it("caps open and total challenges per dispute, staggers deadlines; the honest worker answers all, is paid and earns answerFee", async () => {
    const fx = await loadFixture(smallCaps);
    const da = fx.dataAvailability;
    const { maxOpenPerCase, maxPerCase, perAnswerTime, answerFee, chunkBond } = fx.params.availability;
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const A = BigInt((await fx.jobMarket.jobTerms(jobId)).answerTimeout);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    const r = stepRange(1, 0, 3);
    await da.connect(fx.challenger).proveStepLeaves(jobId, 1, 0, r.stateHashes, r.rangeProof);

    const ids: bigint[] = [];
    for (let batch = 0; batch < maxPerCase / maxOpenPerCase; batch++) {
      for (let i = 0; i < maxOpenPerCase; i++) {
        await da.connect(fx.challenger).challengeStateChunk(jobId, id, 1, i % 3, i % 2);
        const cid = await lastChallenge(fx);
        const opened = BigInt(await time.latest());
        expect((await da.getChallenge(cid)).deadline).to.equal(opened + A + BigInt(i) * BigInt(perAnswerTime));
        ids.push(cid);
      }
      await expect(da.connect(fx.challenger).challengeStateChunk(jobId, id, 1, 0, 0))
        .to.be.revertedWithCustomError(da, "DataAvailabilityTooManyOpen")
        .withArgs(jobId, id, maxOpenPerCase);
      // The honest worker answers them all before their deadlines.
      for (const cid of ids.slice(-maxOpenPerCase)) {
        const c = await da.getChallenge(cid);
        const ch = stateChunk(2 + Number(c.count), Number(c.first));
        await da.connect(fx.worker).answerChunk(cid, ch.byteLength, ch.chunk, ch.proof);
        expect((await da.getChallenge(cid)).status).to.equal(ChallengeStatus.Answered);
      }
    }
    await expect(da.connect(fx.challenger).challengeStateChunk(jobId, id, 1, 0, 0))
      .to.be.revertedWithCustomError(da, "DataAvailabilityTooManyChallenges")
      .withArgs(jobId, id, maxPerCase);

    // The flooder never pinpoints: its bond burns; the worker is paid; each answer earns answerFee.
    await time.increaseTo((await fx.disputeManager.pinpointDeadline(id)) + 1n);
    await fx.disputeManager.timeoutPinpoint(id);
    await passWindow(fx, jobId);
    await fx.jobMarket.finalize(jobId);
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Finalized);
    expect(await fx.jobMarket.credits(await fx.payToken.getAddress(), fx.worker.address)).to.equal(REWARD);
    for (const cid of ids) await da.settle(cid);
    expect(await da.credits(fx.worker.address)).to.equal(BigInt(maxPerCase) * answerFee);
    expect(await da.credits(fx.challenger.address)).to.equal(BigInt(maxPerCase) * (chunkBond - answerFee));
  });

  it("a demand of more than 64 leaves is refused", async () => {
    const fx = await loadFixture(deployAdversarial);
    const k = 128;
    const traj = fileTrajectory(
      Array.from({ length: k + 1 }, (_, t) => fakeFile(`wide:${t}`, 64)),
      k,
    );
    const jobId = await createJob(fx, { totalSteps: k, checkpointInterval: k, initialStateHash: traj.stateHashes[0] });
    await claimAndSubmit(fx, jobId, traj);
    const salt = await commit(fx, fx.challenger, jobId, 0);
    const id = await openDispute(fx, fx.challenger, jobId, 0, salt, true, 0n, traj);
    const da = fx.dataAvailability;
    await expect(da.connect(fx.challenger).demandStepLeaves(jobId, id, 0, 0, 65))
      .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidRange")
      .withArgs(jobId, 0, 0, 65);
    await da.connect(fx.challenger).demandStepLeaves(jobId, id, 0, 0, 64);
    const cid = await lastChallenge(fx);
    const r = stepRange(0, 0, 64, traj);
    await expect(da.connect(fx.worker).answerStepLeaves(cid, r.stateHashes, r.rangeProof)).to.emit(da, "StepLeavesProven");
  });
});
