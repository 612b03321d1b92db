/**
 * Edge branches of the v3 dispute contracts that the main suites do not reach: refused reopenings,
 * appeal rounds nobody can be drawn for, the conviction beneficiary fallback, capped fees and
 * forfeitures, a refund of one interval by two disputes, reopen holds, auditor answers, the
 * committee-size guard after governance lowered the limits, and disputes made moot by a conviction.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyUint } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import {
  DEFAULT_DA_PARAMS,
  DEFAULT_DISPUTE_PARAMS,
  E18,
  JUROR_STAKE,
  K,
  SALT,
  T,
  challengeCommitment,
  commit,
  deploySystem,
  disputeWithCommittee,
  drawCommittee,
  jobParams,
  openCommitted,
  openDispute,
  pinpoint,
  stepRange,
  submittedJob,
  vote,
  ruled,
  submitTrajectory,
  type System,
  emptyJuryPool,
  distinctSeats,
} from "../helpers/system";
import { enterNextEpoch } from "../helpers/staking";
import { checkpointProof, splitStepProof, splitTrajectory, type SplitTrajectory } from "../helpers/trees";
import { proof, type Hex } from "../helpers/merkle";
import type { IDisputeManager } from "../../typechain-types/contracts/DisputeManager";
import { ChallengeStatus, JobStatus, Phase, Ruling } from "../../verifier/protocol/enums";

// Enum values of IDisputeManager / IDataAvailability / IJobMarket.
const FAULT = Ruling.WorkerFault;
const HONEST = Ruling.WorkerHonest;
const BPS = 10_000n;
const DEAD = "0x000000000000000000000000000000000000dEaD";
const P = DEFAULT_DISPUTE_PARAMS;
const DA = DEFAULT_DA_PARAMS;
const DISPUTE_BOND = BigInt(P.disputeBond);
const COMMIT_BOND = BigInt(P.commitBond);
const APPEAL_BOND = BigInt(P.appealBond);
const JUROR_LOCK = BigInt(P.jurorLock);
const INCOHERENCE = BigInt(P.incoherencePenalty);
const OPENER_FEE = BigInt(DA.openerFee);
const MAX_DRAW_WAIT = BigInt(P.maxDrawWait);
const MAX_EXTENSION = BigInt(P.maxExtension);
const LONG_TTL = 2 * 86_400; // a commitment made after submission is still valid at windowEnd

// ------------------------------------------------------------------ local helpers

async function systemWithJob() {
  const sys = await deploySystem();
  const jobId = await submittedJob(sys);
  return { sys, jobId };
}

/** One silent committee round voids the dispute (maxRounds = 1). */
async function oneRoundSystem() {
  const sys = await deploySystem({ dispute: { maxRounds: 1 } });
  const jobId = await submittedJob(sys);
  return { sys, jobId };
}

async function passAppeal(sys: System, disputeId: bigint) {
  await time.increaseTo((await sys.disputeManager.getDispute(disputeId)).appealEnd + 1n);
}

/** The slash split of `c` for the given basis points (remainder to the challenger). */
function split(c: bigint, challengerBps = BigInt(P.challengerBps), jurorBps = BigInt(P.jurorBps), requesterBps = BigInt(P.requesterBps)) {
  const toJurors = (c * jurorBps) / BPS;
  const toRequester = (c * requesterBps) / BPS;
  const burned = (c * (BPS - challengerBps - jurorBps - requesterBps)) / BPS;
  return { toChallenger: c - toJurors - toRequester - burned, toJurors, toRequester, burned };
}

/** Every fixture juror leaves the jury and the next epoch begins: nobody can be drawn any more. */
const makeJurorsUndrawable = emptyJuryPool;

/** Moves past the draw wait of every dispute in `ids` and mines so their randomness is readable. */
async function passDrawWait(sys: System, ids: bigint[]) {
  let until = 0n;
  for (const id of ids) {
    const d = await sys.disputeManager.getDispute(id);
    if (d.drawSince + MAX_DRAW_WAIT > until) until = d.drawSince + MAX_DRAW_WAIT;
  }
  if (BigInt(await time.latest()) < until) await time.increaseTo(until);
  // A draw whose epoch is over first schedules a fresh seed in the current epoch (v3 V3.2).
  const epoch = await sys.stakeManager.currentEpoch();
  for (const id of ids) {
    if ((await sys.disputeManager.getDispute(id)).drawEpoch < epoch) await sys.disputeManager.drawCommittee(id);
  }
  await mine(Number(P.randomnessDelay) + 1);
}

/** Draws the current round's committee of a dispute (addresses, any signer) and lets it stay silent until resolve. */
async function drawSilent(sys: System, disputeId: bigint): Promise<string[]> {
  const dm = sys.disputeManager;
  const d = await dm.getDispute(disputeId);
  const now = BigInt(await ethers.provider.getBlockNumber());
  if (d.randomnessBlock >= now) await mine(d.randomnessBlock - now + 1n);
  await dm.drawCommittee(disputeId);
  return [...(await dm.getRound(disputeId, d.round)).jurors];
}

async function passReveal(sys: System, disputeIds: bigint[]) {
  let until = 0n;
  for (const id of disputeIds) {
    const { revealEnd } = await sys.disputeManager.getDispute(id);
    if (revealEnd > until) until = revealEnd;
  }
  if (BigInt(await time.latest()) <= until) await time.increaseTo(until + 1n);
}

/** Pinpoints, draws a committee that stays silent and resolves: with maxRounds = 1 the dispute is Void. */
async function voidByQuorum(sys: System, disputeId: bigint, j = 0, challenger = sys.challenger) {
  await pinpoint(sys, disputeId, j, challenger);
  await drawSilent(sys, disputeId);
  await passReveal(sys, [disputeId]);
  return sys.disputeManager.resolve(disputeId);
}

async function setDisputeParams(sys: System, overrides: Partial<IDisputeManager.ParamsStruct>) {
  const cur = await sys.disputeManager.params();
  const p: IDisputeManager.ParamsStruct = {
    disputeBond: cur.disputeBond,
    commitBond: cur.commitBond,
    appealBond: cur.appealBond,
    jurorLock: cur.jurorLock,
    incoherencePenalty: cur.incoherencePenalty,
    replayCost: cur.replayCost,
    challengerBps: cur.challengerBps,
    jurorBps: cur.jurorBps,
    requesterBps: cur.requesterBps,
    bondJurorBps: cur.bondJurorBps,
    committeeSize: cur.committeeSize,
    quorum: cur.quorum,
    maxRounds: cur.maxRounds,
    maxAppeals: cur.maxAppeals,
    randomnessDelay: cur.randomnessDelay,
    revealWindow: cur.revealWindow,
    appealWindow: cur.appealWindow,
    commitTTL: cur.commitTTL,
    maxExtension: cur.maxExtension,
    maxDrawWait: cur.maxDrawWait,
    ...overrides,
  };
  await sys.disputeManager.setParams(p);
}

/** Convicts the worker through an unanswered checkpoint demand of `challenger` on the last interval. */
async function convictByDemand(sys: System, jobId: bigint, challenger = sys.challenger, salt: Hex = ethers.id("demand") as Hex) {
  const last = sys.traj.checkpointLeaves.length - 2;
  await commit(sys, jobId, last, challenger, salt);
  const id = await openCommitted(sys, jobId, last, { challenger, salt, withoutProofs: true });
  const demand = (await sys.disputeManager.getDispute(id)).checkpointDemand;
  await time.increaseTo((await sys.dataAvailability.getChallenge(demand)).deadline + 1n);
  await sys.dataAvailability.timeoutChallenge(demand);
  expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
  return id;
}

// A worker whose step tree of interval 1 starts at a state its checkpoints do not hold.
const INTERVAL = 1;
const FAKE: Hex = ethers.id("a state the checkpoints never committed") as Hex;

function lyingAtStart(sys: System): SplitTrajectory {
  const steps = [...sys.traj.stateHashes.slice(INTERVAL * K, (INTERVAL + 1) * K + 1)];
  steps[0] = FAKE;
  return splitTrajectory(sys.traj.stateHashes, K, INTERVAL, steps);
}

// ------------------------------------------------------------------ tests

describe("Dispute edge branches (v3)", function () {
  describe("reopenDispute refusals", function () {
    it("refuses a dispute whose ruling is not Void (ChallengerTimedOut)", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const id = await openDispute(sys, jobId, 1);
      await time.increaseTo((await dm.pinpointDeadline(id)) + 1n);
      await dm.timeoutPinpoint(id);
      expect((await dm.getDispute(id)).ruling).to.equal(Ruling.ChallengerTimedOut);
      // every other condition holds: the job is Submitted, its window open, the interval not reopened
      expect(BigInt(await time.latest())).to.be.lessThan((await sys.jobMarket.getJob(jobId)).windowEnd);
      expect(await dm.reopenUsed(jobId, 1, sys.challenger.address)).to.equal(false);
      await expect(dm.connect(sys.challenger).reopenDispute(id, 0))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCannotReopen")
        .withArgs(id);
    });

    it("refuses a Void dispute once its job was convicted meanwhile", async function () {
      const { sys, jobId } = await loadFixture(oneRoundSystem);
      const dm = sys.disputeManager;
      const voided = await openDispute(sys, jobId, 1);
      await expect(voidByQuorum(sys, voided)).to.emit(dm, "DisputeClosed").withArgs(voided, jobId, Ruling.Void);
      // reopenable now (a static call changes nothing) ...
      expect(await dm.connect(sys.challenger).reopenDispute.staticCall(voided, 0)).to.equal((await dm.disputeCount()) + 1n);
      await convictByDemand(sys, jobId, sys.challenger2);
      // ... and only the job's status changed: still before windowEnd, never reopened
      expect(BigInt(await time.latest())).to.be.lessThan((await sys.jobMarket.getJob(jobId)).windowEnd);
      await expect(dm.connect(sys.challenger).reopenDispute(voided, 0))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCannotReopen")
        .withArgs(voided);
    });
  });

  describe("drawCommittee of an appeal round", function () {
    it("nobody drawable until maxDrawWait: the appealed ruling stands, finalizeRuling executes it (V6.1)", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await ruled(sys, jobId, [FAULT, FAULT, HONEST]);
      await dm.connect(sys.worker).appeal(disputeId);
      await makeJurorsUndrawable(sys);
      await mine(Number(P.randomnessDelay) + 1);
      await expect(dm.drawCommittee(disputeId)).to.emit(dm, "RandomnessRetargeted");
      expect((await dm.getDispute(disputeId)).phase).to.equal(Phase.AwaitingDraw);
      await passDrawWait(sys, [disputeId]);
      const tx = await dm.drawCommittee(disputeId);
      const ts = BigInt((await ethers.provider.getBlock((await tx.wait())!.blockNumber))!.timestamp);
      await expect(tx).to.emit(dm, "RulingGiven").withArgs(disputeId, 0, Ruling.WorkerFault, ts);
      await expect(tx).not.to.emit(dm, "DisputeClosed");
      await expect(tx).not.to.emit(dm, "Credited");
      await expect(tx).not.to.emit(sys.jobMarket, "IntervalRefunded");
      const d = await dm.getDispute(disputeId);
      expect(d.phase).to.equal(Phase.Ruled);
      expect(d.ruling).to.equal(Ruling.WorkerFault);
      expect(d.appealEnd).to.equal(ts);
      expect(d.decidingRound).to.equal(0n);
      expect(await dm.intervalRefunded(jobId, 1)).to.equal(false);
      expect(await dm.reopenHold(jobId)).to.equal(0n);
      // the appeal window is already over: the next block may execute the ruling
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const s = split(C);
      const fin = dm.finalizeRuling(disputeId);
      await expect(fin)
        .to.emit(dm, "WorkerConvicted")
        .withArgs(jobId, disputeId, sys.challenger.address, C, s.toChallenger, s.toJurors, s.toRequester, s.burned);
      await expect(fin).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerFault);
      // the lost appeal bond joins the pot of the two coherent jurors of round 0
      const pot = INCOHERENCE + APPEAL_BOND + s.toJurors;
      const coherent = [...new Set([jurors[0].address, jurors[1].address])];
      let paid = 0n;
      for (const j of coherent) paid += await dm.credits(j);
      expect(paid).to.equal(pot);
      expect(await dm.credits(sys.worker.address)).to.equal(0n);
    });
  });

  describe("closeMoot", function () {
    it("reverts DisputeManagerWrongPhase(id, None) for a dispute that never existed", async function () {
      const { sys } = await loadFixture(systemWithJob);
      await expect(sys.disputeManager.closeMoot(99n))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerWrongPhase")
        .withArgs(99n, Phase.None);
    });
  });

  describe("isChallengeParty", function () {
    it("false for a wrong job, an unknown or a closed dispute; the challenger while live; a juror only while Voting", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      const juror = jurors[0].address;
      expect(await dm.isChallengeParty(jobId, disputeId, sys.challenger.address)).to.equal(true);
      expect(await dm.isChallengeParty(jobId, disputeId, juror)).to.equal(true);
      expect(await dm.isChallengeParty(jobId + 1n, disputeId, sys.challenger.address)).to.equal(false);
      expect(await dm.isChallengeParty(jobId + 1n, disputeId, juror)).to.equal(false);
      expect(await dm.isChallengeParty(jobId, 42n, sys.challenger.address)).to.equal(false);
      expect(await dm.isChallengeParty(0n, 0n, ethers.ZeroAddress)).to.equal(false);
      await vote(sys, disputeId, jurors, [FAULT, FAULT, HONEST]);
      await dm.resolve(disputeId);
      expect((await dm.getDispute(disputeId)).phase).to.equal(Phase.Ruled);
      expect(await dm.isChallengeParty(jobId, disputeId, juror)).to.equal(false);
      expect(await dm.isChallengeParty(jobId, disputeId, sys.challenger.address)).to.equal(true);
      await passAppeal(sys, disputeId);
      await dm.finalizeRuling(disputeId);
      expect((await dm.getDispute(disputeId)).phase).to.equal(Phase.Closed);
      expect(await dm.isChallengeParty(jobId, disputeId, sys.challenger.address)).to.equal(false);
      expect(await dm.isChallengeParty(jobId, disputeId, juror)).to.equal(false);
    });
  });

  describe("_convict beneficiary fallback", function () {
    it("no bounty dispute left: the convicting dispute's challenger takes the bounty", async function () {
      const sys = await deploySystem();
      const traj = lyingAtStart(sys);
      const jobId = await submitTrajectory(sys, traj);
      const dm = sys.disputeManager;
      await dm.connect(sys.challenger).commitChallenge(challengeCommitment(jobId, INTERVAL, sys.challenger.address, SALT));
      const id = (await dm.disputeCount()) + 1n;
      await dm
        .connect(sys.challenger)
        .openDispute(jobId, INTERVAL, SALT, checkpointProof(traj, INTERVAL), checkpointProof(traj, INTERVAL + 1), 0);
      // nobody calls timeoutPinpoint: the dispute stays live but no longer counts for the bounty
      await time.increaseTo((await dm.pinpointDeadline(id)) + 1n);
      expect(await dm.bountyDispute(jobId)).to.equal(0n);
      expect(await dm.liveDisputes(jobId)).to.equal(1n);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const s = split(C);
      const leaf = splitStepProof(traj, 0);
      const tx = dm.connect(sys.stranger).proveBoundaryMismatch(id, false, leaf.stateHash, leaf.proof);
      await expect(tx)
        .to.emit(dm, "WorkerConvicted")
        .withArgs(jobId, id, sys.challenger.address, C, s.toChallenger, s.toJurors, s.toRequester, s.burned);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, s.toChallenger);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(id, jobId, Ruling.WorkerFault);
      expect(await dm.credits(sys.challenger.address)).to.equal(COMMIT_BOND + DISPUTE_BOND + s.toChallenger);
      expect(await dm.credits(sys.stranger.address)).to.equal(0n);
    });
  });

  describe("_forfeitBond", function () {
    it("replayCost raised above an old dispute's bond: a WorkerHonest ruling pays the worker the whole bond", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const id = await openDispute(sys, jobId, 1);
      await setDisputeParams(sys, { disputeBond: 500n * E18, replayCost: 150n * E18 });
      expect((await dm.getDispute(id)).bond).to.equal(DISPUTE_BOND);
      await pinpoint(sys, id, 0);
      const jurors = await drawCommittee(sys, id);
      await vote(sys, id, jurors, [HONEST, HONEST, HONEST]);
      await dm.resolve(id);
      await passAppeal(sys, id);
      const tx = dm.finalizeRuling(id);
      await expect(tx).to.emit(dm, "BondForfeited").withArgs(id, DISPUTE_BOND, 0n, 0n);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.worker.address, DISPUTE_BOND);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(id, jobId, Ruling.WorkerHonest);
      await expect(tx).to.changeTokenBalance(sys.stakeToken, DEAD, 0n);
      expect(await dm.credits(sys.worker.address)).to.equal(DISPUTE_BOND);
      for (const j of jurors) expect(await dm.credits(j.address)).to.equal(0n);
    });
  });

  describe("_refundInterval", function () {
    it("two disputes on one interval voided for want of jurors refund the requester once", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const a = await openDispute(sys, jobId, 1);
      const b = await openDispute(sys, jobId, 1, sys.challenger2);
      await pinpoint(sys, a, 0);
      await pinpoint(sys, b, 1, sys.challenger2);
      await makeJurorsUndrawable(sys);
      await passDrawWait(sys, [a, b]);
      const before = await sys.jobMarket.getJob(jobId);
      const share = before.reward / BigInt(sys.traj.checkpointLeaves.length - 1);
      const ta = dm.drawCommittee(a);
      await expect(ta)
        .to.emit(sys.jobMarket, "IntervalRefunded")
        .withArgs(jobId, share, before.reward - share);
      await expect(ta).to.emit(dm, "DisputeClosed").withArgs(a, jobId, Ruling.Void);
      expect(await dm.intervalRefunded(jobId, 1)).to.equal(true);
      const tb = dm.drawCommittee(b);
      await expect(tb).to.emit(dm, "Credited").withArgs(sys.challenger2.address, DISPUTE_BOND);
      await expect(tb).to.emit(dm, "DisputeClosed").withArgs(b, jobId, Ruling.Void);
      await expect(tb).not.to.emit(sys.jobMarket, "IntervalRefunded");
      const after = await sys.jobMarket.getJob(jobId);
      expect(after.reward).to.equal(before.reward - share);
      expect(after.refundedIntervals).to.equal(1n);
      expect(await sys.jobMarket.credits(await sys.payToken.getAddress(), sys.requester.address)).to.equal(share);
    });
  });

  describe("_voidAndClose reopen hold", function () {
    it("a reopened dispute that voids again sets no new hold", async function () {
      const { sys, jobId } = await loadFixture(oneRoundSystem);
      const dm = sys.disputeManager;
      const windowEnd = (await sys.jobMarket.getJob(jobId)).windowEnd;
      const voided = await openDispute(sys, jobId, 1);
      await voidByQuorum(sys, voided);
      // the commitment (TTL 1 h) expired long before windowEnd: the hold is windowEnd
      expect(await dm.reopenHold(jobId)).to.equal(windowEnd);
      const reopened = (await dm.disputeCount()) + 1n;
      await dm.connect(sys.challenger).reopenDispute(voided, 0);
      // a longer TTL would now hold a first Void until windowEnd + maxExtension ...
      await setDisputeParams(sys, { commitTTL: LONG_TTL });
      await expect(voidByQuorum(sys, reopened, 1))
        .to.emit(dm, "DisputeClosed")
        .withArgs(reopened, jobId, Ruling.Void);
      // ... but a reopened dispute can never be reopened again: the hold stays
      expect(await dm.reopenHold(jobId)).to.equal(windowEnd);
    });

    it("a later Void with an earlier reopen deadline does not lower the hold", async function () {
      const { sys, jobId } = await loadFixture(oneRoundSystem);
      const dm = sys.disputeManager;
      const windowEnd = (await sys.jobMarket.getJob(jobId)).windowEnd;
      const a = await openDispute(sys, jobId, 1);
      const b = await openDispute(sys, jobId, 2, sys.challenger2);
      await pinpoint(sys, a, 0);
      await pinpoint(sys, b, 0, sys.challenger2);
      await drawSilent(sys, a);
      await drawSilent(sys, b);
      await passReveal(sys, [a, b]);
      await setDisputeParams(sys, { commitTTL: LONG_TTL });
      await expect(dm.resolve(a)).to.emit(dm, "DisputeClosed").withArgs(a, jobId, Ruling.Void);
      expect(await dm.reopenHold(jobId)).to.equal(windowEnd + MAX_EXTENSION);
      await setDisputeParams(sys, { commitTTL: P.commitTTL });
      await expect(dm.resolve(b)).to.emit(dm, "DisputeClosed").withArgs(b, jobId, Ruling.Void);
      expect(await dm.reopenHold(jobId)).to.equal(windowEnd + MAX_EXTENSION);
    });
  });

  describe("JobMarket.finalize", function () {
    it("reverts JobMarketReopenPending(jobId, hold) while a voided interval may still be reopened", async function () {
      const { sys, jobId } = await loadFixture(oneRoundSystem);
      const dm = sys.disputeManager;
      const windowEnd = (await sys.jobMarket.getJob(jobId)).windowEnd;
      const voided = await openDispute(sys, jobId, 1);
      await setDisputeParams(sys, { commitTTL: LONG_TTL });
      await voidByQuorum(sys, voided);
      const hold = windowEnd + MAX_EXTENSION;
      expect(await dm.reopenHold(jobId)).to.equal(hold);
      await time.increaseTo(windowEnd + 1n);
      await expect(sys.jobMarket.finalize(jobId))
        .to.be.revertedWithCustomError(sys.jobMarket, "JobMarketReopenPending")
        .withArgs(jobId, hold);
      // the last second of the hold still refuses, the next one finalizes
      await time.setNextBlockTimestamp(hold);
      await expect(sys.jobMarket.finalize(jobId))
        .to.be.revertedWithCustomError(sys.jobMarket, "JobMarketReopenPending")
        .withArgs(jobId, hold);
      await time.increaseTo(hold + 1n);
      await expect(sys.jobMarket.finalize(jobId)).to.emit(sys.jobMarket, "JobFinalized");
    });
  });

  describe("DataAvailability._answered without a dispute", function () {
    it("an auditor's step-leaf demand answered by the worker changes no dispute's lastAnswerAt", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const da = sys.dataAvailability;
      const dm = sys.disputeManager;
      const disputeId = await openDispute(sys, jobId, 2); // stores checkpoints 2 and 3
      const deadlineBefore = await dm.pinpointDeadline(disputeId);
      await mine(1);
      await sys.auditManager.drawAuditors(jobId);
      const [auditorAddr] = await sys.auditManager.auditorsOf(jobId);
      const auditor = sys.jurors.find((j) => j.address === auditorAddr)!;
      expect(await sys.auditManager.isAuditor(jobId, auditor.address)).to.equal(true);
      const challengeId = (await da.challengeCount()) + 1n;
      await expect(da.connect(auditor).demandStepLeaves(jobId, 0, 2, 0, 2))
        .to.emit(da, "ChallengeOpened")
        .withArgs(challengeId, jobId, 0n, auditor.address, 2, 2, 0, 2, ethers.ZeroHash, anyUint);
      const { stateHashes, proof: rp } = stepRange(sys.traj, 2, 0, 2);
      await expect(da.connect(sys.worker).answerStepLeaves(challengeId, stateHashes, rp))
        .to.emit(da, "ChallengeAnswered")
        .withArgs(challengeId, sys.worker.address);
      const c = await da.getChallenge(challengeId);
      expect(c.status).to.equal(ChallengeStatus.Answered);
      expect(c.disputeId).to.equal(0n);
      expect(await da.disputeActivity(disputeId)).to.deep.equal([0n, 0n]);
      expect(await da.disputeActivity(0n)).to.deep.equal([0n, 0n]);
      expect(await dm.pinpointDeadline(disputeId)).to.equal(deadlineBefore);
      expect(await da.openChallenges(jobId)).to.equal(0n);
      expect((await da.stepLeaf(jobId, 2 * K)).known).to.equal(true);
    });
  });

  describe("DisputeEvidence", function () {
    it("commitChallenge(bytes32(0)) reverts DisputeManagerZeroCommitment(0)", async function () {
      const { sys } = await loadFixture(systemWithJob);
      await expect(sys.disputeManager.connect(sys.challenger).commitChallenge(ethers.ZeroHash))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerZeroCommitment")
        .withArgs(0n);
    });

    it("checkpointAnswerFee is capped at the bond: answerFee > disputeBond pays the worker the whole bond", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const fee = 150n * E18;
      expect(fee).to.be.greaterThan(DISPUTE_BOND);
      await sys.dataAvailability.setParams({ ...DA, answerFee: fee, leafBond: fee, chunkBond: fee });
      await commit(sys, jobId, 1);
      const id = await openCommitted(sys, jobId, 1, { withoutProofs: true });
      const demand = (await dm.getDispute(id)).checkpointDemand;
      expect(demand).to.not.equal(0n);
      const a = checkpointProof(sys.traj, 1);
      const b = checkpointProof(sys.traj, 2);
      await sys.dataAvailability
        .connect(sys.worker)
        .answerCheckpoints(demand, a.stateHash, a.stepRoot, a.proof, b.stateHash, b.stepRoot, b.proof);
      await time.increaseTo((await dm.pinpointDeadline(id)) + 1n);
      const tx = dm.timeoutPinpoint(id);
      await expect(tx).to.emit(dm, "BondForfeited").withArgs(id, DISPUTE_BOND, 0n, 0n);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.worker.address, DISPUTE_BOND);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(id, jobId, Ruling.ChallengerTimedOut);
      await expect(tx).to.changeTokenBalance(sys.stakeToken, DEAD, 0n);
    });

    it("openerFee is capped at the bounty: the opener takes it all, the beneficiary nothing extra", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const da = sys.dataAvailability;
      await setDisputeParams(sys, { challengerBps: 1 });
      const finder = await openDispute(sys, jobId, 1);
      const sybil = await openDispute(sys, jobId, 2, sys.challenger2);
      const challengeId = (await da.challengeCount()) + 1n;
      await da.connect(sys.challenger2).demandStepLeaves(jobId, sybil, 2, 0, 2);
      await time.increaseTo((await da.getChallenge(challengeId)).deadline + 1n);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const s = split(C, 1n);
      expect(s.toChallenger).to.be.lessThan(OPENER_FEE);
      expect(await dm.bountyDispute(jobId)).to.equal(finder);
      const finderCredits = await dm.credits(sys.challenger.address);
      const tx = da.timeoutChallenge(challengeId);
      await expect(tx)
        .to.emit(dm, "WorkerConvicted")
        .withArgs(jobId, sybil, sys.challenger.address, C, s.toChallenger, s.toJurors, s.toRequester, s.burned);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger2.address, s.toChallenger);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger2.address, DISPUTE_BOND); // the sybil's own bond
      expect(await dm.credits(sys.challenger.address)).to.equal(finderCredits);
      expect(await dm.credits(sys.challenger2.address)).to.equal(COMMIT_BOND + DISPUTE_BOND + s.toChallenger);
    });
  });

  describe("DisputeJury committee-size guard", function () {
    it("a round past the lowered limits is capped at 64 jurors and still drawn", async function () {
      this.timeout(180_000);
      const sys = await deploySystem({ dispute: { committeeSize: 7, maxRounds: 3 } });
      const dm = sys.disputeManager;
      // 60 more staked jurors, so 64 can be drawn
      for (let i = 0; i < 60; i++) {
        const w = ethers.Wallet.createRandom().connect(ethers.provider);
        await setBalance(w.address, 10n ** 20n);
        await sys.stakeToken.mint(w.address, JUROR_STAKE);
        await sys.stakeToken.connect(w).approve(await sys.stakeManager.getAddress(), JUROR_STAKE);
        await sys.stakeManager.connect(w).stakeForJury(JUROR_STAKE);
      }
      await enterNextEpoch(sys.stakeManager);
      const jobId = await submittedJob(sys);
      const id = await openDispute(sys, jobId, 1);
      await pinpoint(sys, id, 0);
      for (const size of [7, 15]) {
        await drawSilent(sys, id);
        expect((await dm.getRound(id, (await dm.getDispute(id)).round)).seats).to.equal(size);
        await passReveal(sys, [id]);
        await expect(dm.resolve(id)).to.emit(dm, "RoundFailed");
      }
      const d = await dm.getDispute(id);
      expect(d.phase).to.equal(Phase.AwaitingDraw);
      expect(d.round - d.roundBase).to.equal(2n);
      // governance lowers the limits: committeeSize(31, 2) = 127 > 64 under the current parameters
      await setDisputeParams(sys, { committeeSize: 31, maxRounds: 2, maxAppeals: 0 });
      const now = BigInt(await ethers.provider.getBlockNumber());
      if (d.randomnessBlock >= now) await mine(d.randomnessBlock - now + 1n);
      const tx = await dm.drawCommittee(id);
      const r = await dm.getRound(id, 2);
      expect(r.seats).to.equal(64);
      const quorum = (2n * 64n + 31n - 1n) / 31n;
      expect(r.quorum).to.equal(quorum);
      await expect(tx).to.emit(dm, "CommitteeDrawn").withArgs(id, 2, r.jurors, quorum, anyUint, anyUint);
      expect((await dm.getDispute(id)).phase).to.equal(Phase.Voting);
    });
  });

  describe("DisputeLogic.invalidParam", function () {
    it('challengerBps = 10000 reverts DisputeManagerInvalidParam("challengerBps")', async function () {
      const { sys } = await loadFixture(systemWithJob);
      await expect(setDisputeParams(sys, { challengerBps: 10_000, jurorBps: 0, requesterBps: 0 }))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerInvalidParam")
        .withArgs("challengerBps");
    });
  });

  describe("disputes made moot by another dispute's conviction", function () {
    it("timeoutPinpoint, drawCommittee and resolve revert JobNotActive; closeMoot refunds and releases jurors unpenalised", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const pinpointing = await openDispute(sys, jobId, 0, sys.challenger2);
      const awaiting = await openDispute(sys, jobId, 2, sys.stranger);
      await pinpoint(sys, awaiting, 0, sys.stranger);
      const voting = await disputeWithCommittee(sys, jobId, 1);
      await convictByDemand(sys, jobId, sys.challenger, ethers.id("other") as Hex);
      if (BigInt(await time.latest()) <= (await dm.pinpointDeadline(pinpointing)))
        await time.increaseTo((await dm.pinpointDeadline(pinpointing)) + 1n);
      await passReveal(sys, [voting.disputeId]);

      await expect(dm.timeoutPinpoint(pinpointing)).to.be.revertedWithCustomError(dm, "DisputeManagerJobNotActive").withArgs(jobId);
      await expect(dm.drawCommittee(awaiting)).to.be.revertedWithCustomError(dm, "DisputeManagerJobNotActive").withArgs(jobId);
      await expect(dm.resolve(voting.disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerJobNotActive").withArgs(jobId);

      for (const [id, who] of [
        [pinpointing, sys.challenger2],
        [awaiting, sys.stranger],
      ] as const) {
        const tx = dm.closeMoot(id);
        await expect(tx).to.emit(dm, "Credited").withArgs(who.address, DISPUTE_BOND);
        await expect(tx).to.emit(dm, "DisputeClosed").withArgs(id, jobId, Ruling.Moot);
        await expect(tx).not.to.emit(dm, "BondForfeited");
      }
      const lockId = await dm.jurorLockId(voting.disputeId, 0);
      const seated = distinctSeats(voting.jurors);
      const stakes = await Promise.all(seated.map(([j]) => sys.stakeManager.account(j.address)));
      const tx = dm.closeMoot(voting.disputeId);
      for (const [j, n] of seated)
        await expect(tx)
          .to.emit(sys.stakeManager, "Unlocked")
          .withArgs(j.address, lockId, n * JUROR_LOCK);
      await expect(tx).not.to.emit(dm, "JurorPenalized");
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(voting.disputeId, jobId, Ruling.Moot);
      for (let i = 0; i < seated.length; i++) {
        const [j, n] = seated[i];
        const after = await sys.stakeManager.account(j.address);
        expect(after.reserve).to.equal(stakes[i].reserve);
        expect(after.seatLocked).to.equal(stakes[i].seatLocked - n * JUROR_LOCK);
        expect(await sys.stakeManager.lockedAmount(j.address, lockId)).to.equal(0n);
      }
      expect(await dm.liveDisputes(jobId)).to.equal(0n);
    });
  });
});
