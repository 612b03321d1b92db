/**
 * Attack (v3 V10.1): the lazy juror. Re-executing a step costs a juror real compute; a juror that
 * skips it and votes the prior (WorkerHonest: most workers are honest) is coherent almost always
 * and pays at most `incoherencePenalty` when it is not — cheaper than the work.
 *
 * Pre-V10: HEAD~ contracts/lib/DisputeJury.sol `settle` took only `incoherencePenalty` from a
 * revealed vote against the ruling, and nothing knew the true ruling of a step. Now governance runs
 * juror canaries (committed per epoch in the CanaryRegistry, V11.1): once a round's votes are
 * committed anyone holding the salt reveals the canary's truth (`revealCanaryTruth`), and every
 * revealed vote other than it loses the whole `jurorLock` (`DisputeLogic.jurorPenalty`), burned.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyUint } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { Phase, Ruling, claimAndSubmit, commitAndOpen, deployAdversarial, draw, pinpoint, submittedJob, type Adversarial } from "./fixture";
import { CANARY_SALT, canaryJob, commitVotes, revealAndResolve, stakeOf } from "./canary";

const BURN = "0x000000000000000000000000000000000000dEaD";
const F = Ruling.WorkerFault;
const H = Ruling.WorkerHonest;

/** A dispute on the canary job's interval 1 pinpointed at local step 0 (global step 2), committee drawn. */
async function canaryDispute(fx: Adversarial, faultSteps: bigint[], interval = 1) {
  const { jobId, proof } = await canaryJob(fx, faultSteps);
  await claimAndSubmit(fx, jobId);
  const id = await commitAndOpen(fx, fx.challenger, jobId, interval);
  await pinpoint(fx, id, 0);
  const jurors = await draw(fx, id);
  return { jobId, proof, id, jurors };
}

describe("adversarial: the lazy juror (juror canaries, v3 V10.1)", () => {
  it("the truth stays sealed until every seat committed, not merely as many commitments as jurors", async () => {
    const fx = await loadFixture(deployAdversarial);
    const { jobId, proof } = await canaryJob(fx, [2n]);
    await claimAndSubmit(fx, jobId);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);
    // Three seats over two jurors: one holds two of them.
    const seats = await draw(fx, id, false, (s) => s.length === 3 && new Set(s.map((j) => j.address)).size === 2);
    // Seats come in draw order, so the juror holding two of them may be any of the three entries.
    const double = seats.find((j) => seats.filter((k) => k.address === j.address).length === 2)!;
    const single = seats.find((j) => j.address !== double.address)!;
    expect((await fx.disputeManager.getVote(id, 0, double.address)).seats).to.equal(2n);
    await commitVotes(fx, id, [double], [F]);
    // Two commitments counted (its two seats) for two jurors: the single-seat juror is still free.
    await expect(fx.disputeManager.connect(fx.stranger).revealCanaryTruth(id, [2n], CANARY_SALT, proof))
      .to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerRevealNotOpen")
      .withArgs(id);
    await commitVotes(fx, id, [single], [F]);
    await expect(fx.disputeManager.connect(fx.stranger).revealCanaryTruth(id, [2n], CANARY_SALT, proof)).to.emit(
      fx.disputeManager,
      "CanaryTruthRevealed",
    );
  });

  it("a juror voting the prior WorkerHonest on a canary's faulty step loses its whole jurorLock; coherent jurors keep theirs", async () => {
    const fx = await loadFixture(deployAdversarial);
    const { jurorLock } = fx.params.dispute;
    const { proof, id, jurors } = await canaryDispute(fx, [2n, 5n]); // step 2 = interval 1, local step 0
    expect(jurors.length).to.equal(3);
    const votes = [F, F, H]; // jurors[2] is lazy
    const before = await Promise.all(jurors.map((j) => stakeOf(fx, j.address)));
    await commitVotes(fx, id, jurors, votes);
    // every seat committed: votes are bound, the truth may be revealed (by anyone holding the salt)
    await expect(fx.disputeManager.connect(fx.stranger).revealCanaryTruth(id, [2n, 5n], CANARY_SALT, proof))
      .to.emit(fx.disputeManager, "CanaryTruthRevealed")
      .withArgs(id, 0, 2, F);
    expect((await fx.disputeManager.getRound(id, 0)).truth).to.equal(F);
    // the commit window is still open, but no (re)commitment is taken once the truth is out
    await expect(fx.disputeManager.connect(jurors[2]).commitVote(id, ethers.id("switch")))
      .to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerCanaryTruthKnown")
      .withArgs(id);
    const tx = revealAndResolve(fx, id, jurors, votes);
    await expect(tx).to.emit(fx.disputeManager, "JurorPenalized").withArgs(id, 0, jurors[2].address, jurorLock);
    await expect(tx)
      .to.emit(fx.stakeManager, "Slashed")
      .withArgs(jurors[2].address, await fx.disputeManager.jurorLockId(id, 0), jurorLock, BURN);
    await expect(tx).to.emit(fx.disputeManager, "RulingGiven").withArgs(id, 0, F, anyUint);
    await expect(tx).to.changeTokenBalance(fx.stakeToken, BURN, jurorLock);
    expect(await stakeOf(fx, jurors[2].address)).to.equal(before[2] - jurorLock);
    expect(await stakeOf(fx, jurors[0].address)).to.equal(before[0]);
    expect(await stakeOf(fx, jurors[1].address)).to.equal(before[1]);
    // the burned lock is not in the pot the (possibly lazy) majority would share
    expect((await fx.disputeManager.getDispute(id)).jurorPot).to.equal(0n);
  });

  it("without the canary reveal the same lazy vote costs only incoherencePenalty", async () => {
    const fx = await loadFixture(deployAdversarial);
    const { incoherencePenalty, jurorLock } = fx.params.dispute;
    expect(incoherencePenalty < jurorLock).to.equal(true);
    const { id, jurors } = await canaryDispute(fx, [2n, 5n]);
    const votes = [F, F, H];
    const before = await stakeOf(fx, jurors[2].address);
    await commitVotes(fx, id, jurors, votes);
    const tx = revealAndResolve(fx, id, jurors, votes);
    await expect(tx).to.emit(fx.disputeManager, "JurorPenalized").withArgs(id, 0, jurors[2].address, incoherencePenalty);
    expect(await stakeOf(fx, jurors[2].address)).to.equal(before - incoherencePenalty);
    expect((await fx.disputeManager.getDispute(id)).jurorPot).to.equal(incoherencePenalty);
  });

  it("on an honest canary step a juror who accuses loses its whole lock, even when the accusers are the majority", async () => {
    const fx = await loadFixture(deployAdversarial);
    const { jurorLock } = fx.params.dispute;
    const { proof, id, jurors } = await canaryDispute(fx, [5n]); // step 2 is honest
    const votes = [F, F, H]; // two lazy accusers outvote the honest re-executor
    const before = await Promise.all(jurors.map((j) => stakeOf(fx, j.address)));
    await commitVotes(fx, id, jurors, votes);
    await expect(fx.disputeManager.revealCanaryTruth(id, [5n], CANARY_SALT, proof))
      .to.emit(fx.disputeManager, "CanaryTruthRevealed")
      .withArgs(id, 0, 2, H);
    await revealAndResolve(fx, id, jurors, votes);
    expect((await fx.disputeManager.getDispute(id)).ruling).to.equal(F); // the ruling stays the jurors'
    expect(await stakeOf(fx, jurors[0].address)).to.equal(before[0] - jurorLock);
    expect(await stakeOf(fx, jurors[1].address)).to.equal(before[1] - jurorLock);
    // the juror who voted the truth is not charged for being incoherent with the ruling
    expect(await stakeOf(fx, jurors[2].address)).to.equal(before[2]);
  });

  describe("revealCanaryTruth rules", () => {
    it("only during voting, once the votes are bound, once per round, for a leaf of the job's epoch root", async () => {
      const fx = await loadFixture(deployAdversarial);
      const dm = fx.disputeManager;
      const { jobId, proof } = await canaryJob(fx, [2n]);
      await claimAndSubmit(fx, jobId);
      const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
      await expect(dm.revealCanaryTruth(id, [2n], CANARY_SALT, proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase")
        .withArgs(id, Phase.Pinpointing);
      await pinpoint(fx, id, 0);
      const jurors = await draw(fx, id);
      // one seat still may commit: the truth would tell it how to vote
      await commitVotes(fx, id, jurors, [F, F, 0]);
      await expect(dm.revealCanaryTruth(id, [2n], CANARY_SALT, proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerRevealNotOpen")
        .withArgs(id);
      const [commitEnd] = await dm.votingWindows(id);
      await time.increaseTo(commitEnd + 1n);
      await expect(dm.revealCanaryTruth(id, [3n], CANARY_SALT, proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerNotCanary")
        .withArgs(id);
      await expect(dm.revealCanaryTruth(id, [2n], ethers.id("guess"), proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerNotCanary")
        .withArgs(id);
      await expect(dm.revealCanaryTruth(id, [2n], CANARY_SALT, proof)).to.emit(dm, "CanaryTruthRevealed");
      await expect(dm.revealCanaryTruth(id, [2n], CANARY_SALT, proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCanaryTruthKnown")
        .withArgs(id);
      // the silent seat loses its lock as always; burned like the canary slashes of the round
      const tx = revealAndResolve(fx, id, jurors, [F, F, 0]);
      await expect(tx).to.emit(dm, "JurorPenalized").withArgs(id, 0, jurors[2].address, fx.params.dispute.jurorLock);
      await expect(tx).to.changeTokenBalance(fx.stakeToken, BURN, fx.params.dispute.jurorLock);
    });

    it("a job that is no canary cannot be given a truth", async () => {
      const fx = await loadFixture(deployAdversarial);
      const { proof } = await canaryJob(fx, [2n]); // a root exists for this epoch, but not for this job's spec
      const jobId = await submittedJob(fx);
      const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
      await pinpoint(fx, id, 0);
      const jurors = await draw(fx, id);
      await commitVotes(fx, id, jurors, [F, F, F]);
      await expect(fx.disputeManager.revealCanaryTruth(id, [2n], CANARY_SALT, proof))
        .to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerNotCanary")
        .withArgs(id);
    });
  });
});
