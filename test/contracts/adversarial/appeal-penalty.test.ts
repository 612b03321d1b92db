/**
 * Attack (v3 V10.2): cheap incoherence in appeal rounds. An appeal round is the last word on a step;
 * a juror of it who does not re-execute and votes against the outcome lost only
 * `incoherencePenalty` (HEAD~ contracts/lib/DisputeJury.sol `settle`), and only the worker or the
 * challenger could fund an appeal (HEAD~ contracts/DisputeManager.sol `appeal`,
 * DisputeManagerNotParty), so a wrong ruling both parties accepted — or one a colluding challenger
 * let stand — could not be contested by anyone else.
 *
 * Now an incoherent vote in an appeal round loses the whole `jurorLock`
 * (`DisputeLogic.jurorPenalty`), and anyone may fund an appeal.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Ruling, commitAndOpen, deployAdversarial, draw, finalizeRuling, pinpoint, ruleRound, submittedJob, vote } from "./fixture";
import { stakeOf } from "./canary";

const F = Ruling.WorkerFault;
const H = Ruling.WorkerHonest;

describe("adversarial: cheap incoherence in appeal rounds (v3 V10.2)", () => {
  it("a third party funds an appeal; the appeal round's incoherent jurors lose their whole lock, a first round's only incoherencePenalty", async () => {
    const fx = await loadFixture(deployAdversarial);
    const { jurorLock, incoherencePenalty, appealBond } = fx.params.dispute;
    const jobId = await submittedJob(fx);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);

    // First round: one incoherent juror pays incoherencePenalty.
    const first = await draw(fx, id);
    const firstBefore = await stakeOf(fx, first[2].address);
    await vote(fx, id, first, [H, H, F]);
    expect(await stakeOf(fx, first[2].address)).to.equal(firstBefore - incoherencePenalty);
    expect((await fx.disputeManager.getDispute(id)).ruling).to.equal(H);

    // Neither party appeals; a stranger (neither worker nor challenger) does.
    const tx = fx.disputeManager.connect(fx.stranger).appeal(id);
    await expect(tx).to.emit(fx.disputeManager, "Appealed").withArgs(id, fx.stranger.address, 1, appealBond);
    await expect(tx).to.changeTokenBalance(fx.stakeToken, fx.stranger, -appealBond);
    expect((await fx.disputeManager.getAppeal(id, 0)).appellant).to.equal(fx.stranger.address);

    // Appeal round (2M+1 = 7): five vote WorkerFault, two stay with WorkerHonest and lose the whole lock.
    const appeal = await draw(fx, id);
    expect(appeal.length).to.equal(7);
    const votes = [F, F, F, F, F, H, H];
    const before = await Promise.all(appeal.map((j) => stakeOf(fx, j.address)));
    await vote(fx, id, appeal, votes);
    expect((await fx.disputeManager.getDispute(id)).ruling).to.equal(F);
    for (const [i, j] of appeal.entries()) {
      expect(await stakeOf(fx, j.address)).to.equal(before[i] - (votes[i] === H ? jurorLock : 0n));
    }
    // The stranger's appeal changed the outcome: its bond comes back at the end.
    await expect(finalizeRuling(fx, id)).to.emit(fx.disputeManager, "WorkerConvicted");
    expect(await fx.disputeManager.credits(fx.stranger.address)).to.equal(appealBond);
  });

  it("an appeal round that keeps the ruling still charges its incoherent jurors the whole lock; the appellant's bond goes to the jurors", async () => {
    const fx = await loadFixture(deployAdversarial);
    const { jurorLock } = fx.params.dispute;
    const jobId = await submittedJob(fx);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);
    await ruleRound(fx, id, F);
    await fx.disputeManager.connect(fx.sybil).appeal(id); // the worker's sybil contests its conviction
    const appeal = await draw(fx, id);
    const votes = [F, F, F, F, F, F, H];
    const before = await stakeOf(fx, appeal[6].address);
    await vote(fx, id, appeal, votes);
    expect(await stakeOf(fx, appeal[6].address)).to.equal(before - jurorLock);
    await finalizeRuling(fx, id);
    expect(await fx.disputeManager.credits(fx.sybil.address)).to.equal(0n);
  });
});
