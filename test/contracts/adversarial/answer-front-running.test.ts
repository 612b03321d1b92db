/**
 * Attack 10 (issue 12): answer front-running.
 *
 * Pre-v3 (HEAD~1 contracts/DisputeManager.sol `answerChunk`, line 290): `_credit(msg.sender,
 * c.bond)` paid the whole chunk bond to whoever sent the answer, so a copycat who saw the worker's
 * answer in the mempool took it. v3 credits nobody at answer time; `settle` pays the job's worker
 * `answerFee` and the opener the rest. On the old code the copycat's credit is the bond.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  Ruling,
  claimAndSubmit,
  commitAndOpen,
  createJob,
  deployAdversarial,
  finalizeRuling,
  lastChallenge,
  passWindow,
  ruleRound,
  stateChunk,
  stepRange,
} from "./fixture";

describe("adversarial: answer front-running", () => {
  it("a copycat answering chunk and leaf challenges gets nothing; settle credits the job's worker", async () => {
    const fx = await loadFixture(deployAdversarial);
    const da = fx.dataAvailability;
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await da.connect(fx.challenger).demandStepLeaves(jobId, id, 1, 0, 3);
    const leaves = await lastChallenge(fx);
    const r = stepRange(1, 0, 3);
    await expect(da.connect(fx.stranger).answerStepLeaves(leaves, r.stateHashes, r.rangeProof))
      .to.emit(da, "ChallengeAnswered")
      .withArgs(leaves, fx.stranger.address);
    await da.connect(fx.challenger).challengeStateChunk(jobId, id, 1, 1, 1);
    const chunk = await lastChallenge(fx);
    const c = stateChunk(3, 1);
    await expect(da.connect(fx.stranger).answerChunk(chunk, c.byteLength, c.chunk, c.proof)).to.emit(da, "ChallengeAnswered");
    expect(await da.credits(fx.stranger.address)).to.equal(0n);
    expect(await fx.disputeManager.credits(fx.stranger.address)).to.equal(0n);

    // Bonds are settled only once the job ended.
    await expect(da.settle(chunk)).to.be.revertedWithCustomError(da, "DataAvailabilityJobNotOver");
    await fx.disputeManager
      .connect(fx.challenger)
      .pinpoint(id, 0, { stateHash: r.stateHashes[0], proof: [] }, { stateHash: r.stateHashes[1], proof: [] });
    // The committee finds the worker honest; the job is finalized.
    await ruleRound(fx, id, Ruling.WorkerHonest);
    await finalizeRuling(fx, id);
    await passWindow(fx, jobId);
    await fx.jobMarket.finalize(jobId);
    const { answerFee, leafBond, chunkBond } = fx.params.availability;
    await expect(da.connect(fx.stranger).settle(leaves))
      .to.emit(da, "ChallengeSettled")
      .withArgs(leaves, answerFee, leafBond - answerFee);
    await expect(da.connect(fx.stranger).settle(chunk))
      .to.emit(da, "ChallengeSettled")
      .withArgs(chunk, answerFee, chunkBond - answerFee);
    expect(await da.credits(fx.worker.address)).to.equal(2n * answerFee);
    expect(await da.credits(fx.challenger.address)).to.equal(leafBond + chunkBond - 2n * answerFee);
    expect(await da.credits(fx.stranger.address)).to.equal(0n);
  });
});
