/**
 * Attack (v3 V11.2): free misses. An attester locks `auditorPenalty` but, on a convicted job, HEAD~
 * contracts/AuditManager.sol `releaseAttester` gave every attester its whole lock back: attesting
 * without replaying cost nothing even when the faulty interval was in the attester's own sample
 * (only a canary could catch it, and canaries were recognisable, V11.1).
 *
 * Now the conviction tells the AuditManager the convicted interval (`onWorkerConvicted(jobId,
 * recipient, interval)` → `onJobRejected(jobId, interval)`), and every attester whose sample held
 * it loses `missPenalty` (burned) besides its fee share; attesters who did not sample it are
 * released whole.
 */
import { expect } from "chai";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  JobStatus,
  Ruling,
  commitAndOpen,
  deployAdversarial,
  finalizeRuling,
  pinpoint,
  ruleRound,
  signerOf,
  submittedJob,
} from "./fixture";

const BURN = "0x000000000000000000000000000000000000dEaD";

/** One sampled interval per auditor (of 4), so some attesters sample the faulty one and some do not. */
function fixture() {
  return deployAdversarial((p) => {
    p.jobMarket.samplesPerAuditor = 1;
  });
}

describe("adversarial: free misses (v3 V11.2)", () => {
  it("a conviction on interval i burns missPenalty from every attester that sampled i; the others are released whole; nobody gets a fee", async () => {
    const fx = await loadFixture(fixture);
    const am = fx.auditManager;
    const missPenalty = await am.missPenalty();
    const auditorPenalty = await am.auditorPenalty();
    expect(missPenalty > 0n && missPenalty <= auditorPenalty).to.equal(true);

    // The draw follows block hashes, which differ between runs: on a few intervals every seat can
    // sample the same one. Post jobs until one draw has an attester that did not sample i.
    let jobId = 0n;
    let auditors: Awaited<ReturnType<typeof signerOf>>[] = [];
    let samples: bigint[][] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      jobId = await submittedJob(fx);
      await mine(1);
      await am.drawAuditors(jobId);
      auditors = await Promise.all((await am.auditorsOf(jobId)).map((a) => signerOf(a)));
      samples = await Promise.all(auditors.map(async (a) => [...(await am.sampleOf(jobId, a.address))]));
      if (samples.some((s) => !s.includes(samples[0]![0]!))) break;
    }
    for (const [n, a] of auditors.entries()) await am.connect(a).attest(jobId, samples[n]!); // none of them replays anything
    const i = samples[0]![0]!;
    expect(
      samples.some((s) => !s.includes(i)),
      "an attester that did not sample i",
    ).to.equal(true);

    // A challenger finds the fault in interval i; the committee convicts.
    const id = await commitAndOpen(fx, fx.challenger, jobId, Number(i));
    await pinpoint(fx, id, 0);
    await ruleRound(fx, id, Ruling.WorkerFault);
    await expect(finalizeRuling(fx, id)).to.emit(fx.disputeManager, "WorkerConvicted");
    expect((await fx.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
    const audit = await am.getAudit(jobId);
    expect([audit.settled, audit.paid, audit.convictedInterval]).to.deep.equal([true, false, i]);

    // Any job may have been a canary: attesters wait for the reveal period.
    const end = (await fx.jobMarket.getJob(jobId)).windowEnd + (await am.canaryRevealPeriod());
    await expect(am.releaseAttester(jobId, auditors[0].address)).to.be.revertedWithCustomError(am, "AuditManagerCanaryPending");
    await time.increaseTo(end + 1n);

    const pay = await fx.payToken.getAddress();
    for (const [n, a] of auditors.entries()) {
      const lockId = await am.auditorLockId(jobId, a.address);
      const before = await fx.stakeManager.account(a.address);
      const tx = am.connect(fx.stranger).releaseAttester(jobId, a.address);
      await expect(tx).to.emit(am, "AttesterReleased").withArgs(jobId, a.address, 0n);
      if (samples[n].includes(i)) {
        await expect(tx).to.emit(am, "AttesterMissed").withArgs(jobId, a.address, i, missPenalty);
        await expect(tx).to.emit(fx.stakeManager, "Slashed").withArgs(a.address, lockId, missPenalty, BURN);
        await expect(tx).to.changeTokenBalance(fx.stakeToken, BURN, missPenalty);
      } else {
        await expect(tx).not.to.emit(am, "AttesterMissed");
        // The lock is per seat: an account the draw gave two seats locked twice the penalty.
        const seats = await am.auditorSeats(jobId, a.address);
        await expect(tx)
          .to.emit(fx.stakeManager, "Unlocked")
          .withArgs(a.address, lockId, auditorPenalty * seats);
      }
      const after = await fx.stakeManager.account(a.address);
      const lost = samples[n].includes(i) ? missPenalty : 0n;
      expect(after.free + after.locked).to.equal(before.free + before.locked - lost);
      expect(await am.credits(pay, a.address)).to.equal(0n); // no fee share on a rejected job
    }
    // The whole verification fee went back to the requester with the escrow.
    const job = await fx.jobMarket.getJob(jobId);
    expect(await fx.jobMarket.credits(pay, fx.requester.address)).to.equal(job.reward + job.verificationFee);
  });
});
