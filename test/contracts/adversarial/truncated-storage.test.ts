/**
 * Issue 17 (gas): risks of the dispute path's packed storage.
 *
 * A vote commitment is kept as its first 30 bytes, in one slot with the juror's seats and vote. A
 * commitment whose kept bytes are zero would read as "not committed": the juror could commit again
 * after seeing others' reveals (attack 9, zero commitment, through the truncation). A reveal must
 * still match the kept bytes, so a juror cannot reveal the other vote. A challenge commitment keeps
 * its bond in 96 bits: a commit bond above that would be stored truncated, paying out less than was
 * pulled (or, on a wrap, more), so governance cannot set one. The commitment counters share one
 * slot: the bonds held stay exact across commit, open and expiry.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import {
  Ruling,
  commit,
  commitAndOpen,
  commitmentOf,
  deployAdversarial,
  draw,
  openDispute,
  pinpoint,
  saltOf,
  submittedJob,
  voteCommitment,
} from "./fixture";

/** A dispute on interval 1 of a submitted job, its step pinpointed and its committee drawn. */
async function votingDispute() {
  const fx = await loadFixture(deployAdversarial);
  const id = await commitAndOpen(fx, fx.challenger, await submittedJob(fx), 1);
  await pinpoint(fx, id, 0);
  return { fx, id, jurors: await draw(fx, id) };
}

describe("adversarial: truncated storage (issue 17)", () => {
  it("a vote commitment zero in its kept 30 bytes is refused, so no juror can commit twice", async () => {
    const { fx, id, jurors } = await votingDispute();
    const dm = fx.disputeManager;
    // Non-zero as a bytes32, zero in the 30 bytes the manager keeps.
    const tailOnly = ethers.zeroPadValue("0xffff", 32);
    await expect(dm.connect(jurors[0]).commitVote(id, tailOnly))
      .to.be.revertedWithCustomError(dm, "DisputeManagerZeroCommitment")
      .withArgs(id);
    expect((await dm.getRound(id, 0)).commits).to.equal(0);
    expect(BigInt((await dm.getVote(id, 0, jurors[0].address)).commitment)).to.equal(0n);
    const s = saltOf("j0");
    await dm.connect(jurors[0]).commitVote(id, voteCommitment(id, 0, jurors[0].address, Ruling.WorkerFault, s));
    await expect(
      dm.connect(jurors[0]).commitVote(id, voteCommitment(id, 0, jurors[0].address, Ruling.WorkerHonest, s)),
    ).to.be.revertedWithCustomError(dm, "DisputeManagerAlreadyCommitted");
  });

  it("a reveal must match the kept 30 bytes: the other vote, or the right vote from another juror, fails", async () => {
    const { fx, id, jurors } = await votingDispute();
    const dm = fx.disputeManager;
    const salts = jurors.map((_, i) => saltOf(`j${i}`));
    for (let i = 0; i < jurors.length; i++) {
      await dm.connect(jurors[i]).commitVote(id, voteCommitment(id, 0, jurors[i].address, Ruling.WorkerFault, salts[i]));
    }
    for (const v of [Ruling.WorkerHonest, Ruling.Indeterminate]) {
      await expect(dm.connect(jurors[0]).revealVote(id, v, salts[0])).to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentMismatch");
    }
    // Juror 1 replaying juror 0's salt: the commitment binds the juror's address too.
    await expect(dm.connect(jurors[1]).revealVote(id, Ruling.WorkerFault, salts[0])).to.be.revertedWithCustomError(
      dm,
      "DisputeManagerCommitmentMismatch",
    );
    await expect(dm.connect(jurors[0]).revealVote(id, Ruling.WorkerFault, salts[0])).to.emit(dm, "VoteRevealed");
    expect((await dm.getVote(id, 0, jurors[0].address)).vote).to.equal(Ruling.WorkerFault);
    // The reveal kept the commitment and the seats in their shared slot.
    const v = await dm.getVote(id, 0, jurors[0].address);
    expect(v.commitment).to.equal(voteCommitment(id, 0, jurors[0].address, Ruling.WorkerFault, salts[0]).slice(0, 62));
    expect(v.seats).to.be.greaterThan(0n);
  });

  it("a commit bond of 2^96 or more is refused; 2^96 − 1 is accepted", async () => {
    const fx = await loadFixture(deployAdversarial);
    const dm = fx.disputeManager;
    await expect(dm.setParams({ ...fx.params.dispute, commitBond: 2n ** 96n }))
      .to.be.revertedWithCustomError(dm, "DisputeManagerInvalidParam")
      .withArgs("commitBond");
    await expect(dm.setParams({ ...fx.params.dispute, commitBond: 2n ** 96n - 1n })).to.emit(dm, "ParamsUpdated");
  });

  it("the packed commitment counters stay exact across commit, open and expiry", async () => {
    const fx = await loadFixture(deployAdversarial);
    const dm = fx.disputeManager;
    const bond = BigInt(fx.params.dispute.commitBond);
    const jobId = await submittedJob(fx);
    const c0 = await dm.commitmentCount();
    const h1 = commitmentOf(jobId, 1, fx.challenger.address, await commit(fx, fx.challenger, jobId, 1, "a"));
    const salt2 = await commit(fx, fx.challenger, jobId, 2, "b");
    expect(await dm.commitmentCount()).to.equal(c0 + 2n);
    expect(await dm.commitBondsHeld()).to.equal(2n * bond);
    const stored = await dm.getCommitment(h1);
    expect(stored.challenger).to.equal(fx.challenger.address);
    expect(stored.bond).to.equal(bond);
    expect(stored.order).to.equal(c0 + 1n);
    // Opening uses the second commitment: its bond leaves the held sum and is credited back.
    const credit = await dm.credits(fx.challenger.address);
    await openDispute(fx, fx.challenger, jobId, 2, salt2);
    expect(await dm.commitBondsHeld()).to.equal(bond);
    expect((await dm.credits(fx.challenger.address)) - credit).to.equal(bond);
    await time.increase(BigInt(fx.params.dispute.commitTTL) + 1n);
    const burnBefore = await fx.stakeToken.balanceOf("0x000000000000000000000000000000000000dEaD");
    await dm.expireCommitment(h1);
    expect(await dm.commitBondsHeld()).to.equal(0n);
    expect((await fx.stakeToken.balanceOf("0x000000000000000000000000000000000000dEaD")) - burnBefore).to.equal(bond);
    expect(await dm.commitmentCount()).to.equal(c0 + 2n);
  });
});
