/**
 * Attack 9 (issue 12): zero commitment.
 *
 * Pre-v3 (HEAD~1 contracts/DisputeManager.sol): `commitVote` (lines 354-363) accepted
 * `commitment == 0`, counted it (`++_rounds[disputeId][d.round].commits`), and because its
 * "already committed" check is `v.commitment != bytes32(0)` the juror could commit again later with
 * a copy of the revealed votes; the zero commits also opened reveals early (`r.commits <
 * r.jurors.length`, line 372). On the old code the ZeroCommitment expectation fails.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { Ruling, claimAndSubmit, commitAndOpen, createJob, deployAdversarial, draw, pinpoint, saltOf, voteCommitment } from "./fixture";

describe("adversarial: zero commitment", () => {
  it("commitVote(0) reverts, a juror cannot commit twice, reveals do not open early", async () => {
    const fx = await loadFixture(deployAdversarial);
    const jobId = await createJob(fx);
    await claimAndSubmit(fx, jobId);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);
    const jurors = await draw(fx, id);
    const dm = fx.disputeManager;
    await expect(dm.connect(jurors[0]).commitVote(id, ethers.ZeroHash))
      .to.be.revertedWithCustomError(dm, "DisputeManagerZeroCommitment")
      .withArgs(id);
    expect((await dm.getRound(id, 0)).commits).to.equal(0);

    const s0 = saltOf("j0");
    await dm.connect(jurors[0]).commitVote(id, voteCommitment(id, 0, jurors[0].address, Ruling.WorkerFault, s0));
    await expect(dm.connect(jurors[0]).commitVote(id, voteCommitment(id, 0, jurors[0].address, Ruling.WorkerHonest, s0)))
      .to.be.revertedWithCustomError(dm, "DisputeManagerAlreadyCommitted")
      .withArgs(id, jurors[0].address);
    await expect(
      dm.connect(fx.stranger).commitVote(id, voteCommitment(id, 0, fx.stranger.address, Ruling.WorkerFault, s0)),
    ).to.be.revertedWithCustomError(dm, "DisputeManagerNotJuror");
    // Two of three committed and the commit window open: no reveal yet.
    const s1 = saltOf("j1");
    await dm.connect(jurors[1]).commitVote(id, voteCommitment(id, 0, jurors[1].address, Ruling.WorkerFault, s1));
    await expect(dm.connect(jurors[0]).revealVote(id, Ruling.WorkerFault, s0))
      .to.be.revertedWithCustomError(dm, "DisputeManagerRevealNotOpen")
      .withArgs(id);
    expect((await dm.getRound(id, 0)).commits).to.equal(2);
    // Once all committed, reveals open.
    await dm.connect(jurors[2]).commitVote(id, voteCommitment(id, 0, jurors[2].address, Ruling.WorkerFault, saltOf("j2")));
    await expect(dm.connect(jurors[0]).revealVote(id, Ruling.WorkerFault, s0)).to.emit(dm, "VoteRevealed");
  });
});
