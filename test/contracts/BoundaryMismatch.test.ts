import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  DEFAULT_DISPUTE_PARAMS,
  EMPTY_CHECKPOINT,
  K,
  SALT,
  T,
  challengeCommitment,
  deploySystem,
  drawCommittee,
  jobParams,
  openDispute,
  submittedJob,
  vote,
  submitTrajectory,
  type System,
  distinctSeats,
} from "../helpers/system";
import { checkpointProof, splitStepProof, splitTrajectory, stepProof, type SplitTrajectory } from "../helpers/trees";
import { proof, rangeProof, stepLeaf, type Hex } from "../helpers/merkle";
import { JobStatus, Phase, Ruling } from "../../verifier/protocol/enums";

// Enum values of IDisputeManager / IJobMarket.
const HONEST = Ruling.WorkerHonest;
const BPS = 10_000n;
const DEAD = "0x000000000000000000000000000000000000dEaD";
const P = DEFAULT_DISPUTE_PARAMS;
const DISPUTE_BOND = BigInt(P.disputeBond);
const COMMIT_BOND = BigInt(P.commitBond);
const JUROR_LOCK = BigInt(P.jurorLock);
const INTERVAL = 1;
const FAKE: Hex = ethers.id("a state the checkpoints never committed") as Hex;

function split(C: bigint) {
  const toJurors = (C * BigInt(P.jurorBps)) / BPS;
  const toRequester = (C * BigInt(P.requesterBps)) / BPS;
  const burned = (C * (BPS - BigInt(P.challengerBps) - BigInt(P.jurorBps) - BigInt(P.requesterBps))) / BPS;
  return { toChallenger: C - toJurors - toRequester - burned, toJurors, toRequester, burned };
}

/**
 * A worker whose step tree of interval 1 starts (atEnd false) or ends (atEnd true) at a state its
 * checkpoints do not hold; every step inside the tree may well be honest.
 */
function lyingTrajectory(sys: System, atEnd: boolean): SplitTrajectory {
  const honest = sys.traj.stateHashes.slice(INTERVAL * K, (INTERVAL + 1) * K + 1);
  const steps = [...honest];
  steps[atEnd ? K : 0] = FAKE;
  return splitTrajectory(sys.traj.stateHashes, K, INTERVAL, steps);
}

async function openOn(sys: System, traj: SplitTrajectory, jobId: bigint): Promise<bigint> {
  const dm = sys.disputeManager;
  await dm.connect(sys.challenger).commitChallenge(challengeCommitment(jobId, INTERVAL, sys.challenger.address, SALT));
  const id = (await dm.disputeCount()) + 1n;
  await dm
    .connect(sys.challenger)
    .openDispute(jobId, INTERVAL, SALT, checkpointProof(traj, INTERVAL), checkpointProof(traj, INTERVAL + 1), 0);
  return id;
}

async function lyingAtStart() {
  const sys = await deploySystem();
  const traj = lyingTrajectory(sys, false);
  const jobId = await submitTrajectory(sys, traj);
  const disputeId = await openOn(sys, traj, jobId);
  return { sys, traj, jobId, disputeId };
}

async function lyingAtEnd() {
  const sys = await deploySystem();
  const traj = lyingTrajectory(sys, true);
  const jobId = await submitTrajectory(sys, traj);
  const disputeId = await openOn(sys, traj, jobId);
  return { sys, traj, jobId, disputeId };
}

async function honestDispute() {
  const sys = await deploySystem();
  const jobId = await submittedJob(sys);
  const disputeId = await openDispute(sys, jobId, INTERVAL);
  return { sys, jobId, disputeId };
}

describe("DisputeManager.proveBoundaryMismatch", function () {
  describe("when step leaf 0 differs from checkpoint i", function () {
    it("stores both checkpoint leaves in the DataAvailability at openDispute", async function () {
      const { sys, traj, jobId } = await loadFixture(lyingAtStart);
      const a = await sys.dataAvailability.checkpointLeaf(jobId, INTERVAL);
      const b = await sys.dataAvailability.checkpointLeaf(jobId, INTERVAL + 1);
      expect([a.known, a.stateHash, a.stepRoot]).to.deep.equal([true, traj.stateHashes[INTERVAL * K], traj.stepRoots[INTERVAL]]);
      expect([b.known, b.stateHash]).to.deep.equal([true, traj.stateHashes[(INTERVAL + 1) * K]]);
    });

    it("proves from stored step leaves with an empty proof", async function () {
      const { sys, traj, jobId, disputeId } = await loadFixture(lyingAtStart);
      const leaves = traj.stepHashes.map((h, t) => stepLeaf(INTERVAL * K + t, h));
      await sys.dataAvailability.proveStepLeaves(jobId, INTERVAL, 0, [traj.stepHashes[0]], rangeProof(leaves, 0, 1));
      await expect(sys.disputeManager.connect(sys.stranger).proveBoundaryMismatch(disputeId, false, FAKE, []))
        .to.emit(sys.disputeManager, "BoundaryMismatchProven")
        .withArgs(disputeId, false, traj.stateHashes[INTERVAL * K], FAKE);
    });

    it("needs the checkpoint leaves: a dispute opened without them reverts until the worker posts them", async function () {
      const sys = await deploySystem();
      const traj = lyingTrajectory(sys, false);
      const jobId = await submitTrajectory(sys, traj);
      const dm = sys.disputeManager;
      await dm.connect(sys.challenger).commitChallenge(challengeCommitment(jobId, INTERVAL, sys.challenger.address, SALT));
      await dm.connect(sys.challenger).openDispute(jobId, INTERVAL, SALT, EMPTY_CHECKPOINT, EMPTY_CHECKPOINT, 0);
      const leaf = splitStepProof(traj, 0);
      await expect(dm.proveBoundaryMismatch(1n, false, leaf.stateHash, leaf.proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCheckpointsUnknown")
        .withArgs(1n);
      // only checkpoint i known (proven by someone): checkpoint i+1 still unknown for the end boundary
      const c = checkpointProof(traj, INTERVAL);
      await sys.dataAvailability.proveCheckpoint(jobId, INTERVAL, c.stateHash, c.stepRoot, c.proof);
      const end = splitStepProof(traj, K);
      await expect(dm.proveBoundaryMismatch(1n, true, end.stateHash, end.proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCheckpointsUnknown")
        .withArgs(1n);
      await expect(dm.proveBoundaryMismatch(1n, false, leaf.stateHash, leaf.proof)).to.emit(dm, "WorkerConvicted");
    });

    it("convicts the worker for anyone who proves it, the challenger as beneficiary, to the wei", async function () {
      const { sys, traj, jobId, disputeId } = await loadFixture(lyingAtStart);
      const dm = sys.disputeManager;
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const { toChallenger, toJurors, toRequester, burned } = split(C);
      const leaf = splitStepProof(traj, 0);
      const dmBalance = await sys.stakeToken.balanceOf(await dm.getAddress());
      const deadBefore = await sys.stakeToken.balanceOf(DEAD);
      const workerBefore = await sys.stakeManager.account(sys.worker.address);

      const tx = dm.connect(sys.stranger).proveBoundaryMismatch(disputeId, false, leaf.stateHash, leaf.proof);
      await expect(tx)
        .to.emit(dm, "BoundaryMismatchProven")
        .withArgs(disputeId, false, traj.stateHashes[INTERVAL * K], FAKE);
      await expect(tx)
        .to.emit(dm, "WorkerConvicted")
        .withArgs(jobId, disputeId, sys.challenger.address, C, toChallenger, toJurors, toRequester, burned);
      await expect(tx).to.emit(sys.jobMarket, "JobRejected").withArgs(jobId, sys.worker.address);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, toChallenger);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.requester.address, toRequester);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerFault);

      const d = await dm.getDispute(disputeId);
      expect(d.phase).to.equal(BigInt(Phase.Closed));
      expect(d.ruling).to.equal(BigInt(Ruling.WorkerFault));
      expect(d.bond).to.equal(0n);
      expect(await dm.disputeOf(jobId, INTERVAL, sys.challenger.address)).to.equal(0n);
      expect(await dm.liveDisputes(jobId)).to.equal(0n);
      expect((await sys.jobMarket.getJob(jobId)).status).to.equal(BigInt(JobStatus.Rejected));
      // The stranger who proved it gets nothing; the challenger its bond and bounty.
      expect(await dm.credits(sys.stranger.address)).to.equal(0n);
      expect(await dm.credits(sys.challenger.address)).to.equal(COMMIT_BOND + DISPUTE_BOND + toChallenger);
      expect(await dm.credits(sys.requester.address)).to.equal(toRequester);
      // No committee: the jurors' share burns with the burn share.
      expect(await sys.stakeToken.balanceOf(DEAD)).to.equal(deadBefore + burned + toJurors);
      expect(await sys.stakeToken.balanceOf(await dm.getAddress())).to.equal(dmBalance + toChallenger + toRequester);
      // The worker loses exactly the collateral; the requester's escrow is refunded in full.
      const workerAfter = await sys.stakeManager.account(sys.worker.address);
      expect(workerAfter.locked).to.equal(workerBefore.locked - C);
      expect(workerAfter.free).to.equal(workerBefore.free);
      const job = await sys.jobMarket.getJob(jobId);
      expect(await sys.jobMarket.credits(await sys.payToken.getAddress(), sys.requester.address)).to.equal(
        job.reward + job.verificationFee,
      );
    });

    it("reverts for the end boundary, which is consistent", async function () {
      const { sys, traj, disputeId } = await loadFixture(lyingAtStart);
      const leaf = splitStepProof(traj, K);
      await expect(sys.disputeManager.proveBoundaryMismatch(disputeId, true, leaf.stateHash, leaf.proof))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerBoundaryConsistent")
        .withArgs(disputeId, true);
    });

    it("reverts for a leaf or proof the step root does not hold", async function () {
      const { sys, traj, disputeId } = await loadFixture(lyingAtStart);
      const dm = sys.disputeManager;
      const leaf = splitStepProof(traj, 0);
      // The checkpoint's own state hash is not leaf 0 of this step tree.
      await expect(dm.proveBoundaryMismatch(disputeId, false, traj.stateHashes[INTERVAL * K], leaf.proof)).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerInvalidProof",
      );
      // Leaf 1 with its valid proof is not leaf 0 (positions are bound).
      const inner = splitStepProof(traj, 1);
      await expect(dm.proveBoundaryMismatch(disputeId, false, inner.stateHash, inner.proof)).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerInvalidProof",
      );
      // Leaf 0 is not leaf k either.
      await expect(dm.proveBoundaryMismatch(disputeId, true, leaf.stateHash, leaf.proof)).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerInvalidProof",
      );
      // A proof of the wrong length.
      await expect(dm.proveBoundaryMismatch(disputeId, false, leaf.stateHash, leaf.proof.slice(1))).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerInvalidProof",
      );
    });

    it("reverts once the dispute is closed, and for a dispute that does not exist", async function () {
      const { sys, traj, disputeId } = await loadFixture(lyingAtStart);
      const dm = sys.disputeManager;
      const leaf = splitStepProof(traj, 0);
      await dm.proveBoundaryMismatch(disputeId, false, leaf.stateHash, leaf.proof);
      await expect(dm.proveBoundaryMismatch(disputeId, false, leaf.stateHash, leaf.proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase")
        .withArgs(disputeId, Phase.Closed);
      await expect(dm.proveBoundaryMismatch(99n, false, leaf.stateHash, leaf.proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase")
        .withArgs(99n, 0);
    });

    it("reverts when another dispute convicted the job first; that dispute is then moot", async function () {
      const { sys, traj, jobId, disputeId } = await loadFixture(lyingAtStart);
      const dm = sys.disputeManager;
      // A second dispute on interval 0, convicted through an unanswered step-leaf demand.
      await dm.connect(sys.challenger2).commitChallenge(challengeCommitment(jobId, 0, sys.challenger2.address, SALT));
      await dm.connect(sys.challenger2).openDispute(jobId, 0, SALT, checkpointProof(traj, 0), checkpointProof(traj, 1), 0);
      const other = await dm.disputeCount();
      await sys.dataAvailability.connect(sys.challenger2).demandStepLeaves(jobId, other, 0, 0, 1);
      await time.increaseTo((await sys.dataAvailability.getChallenge(1n)).deadline + 1n);
      await sys.dataAvailability.timeoutChallenge(1n);
      const leaf = splitStepProof(traj, 0);
      await expect(dm.proveBoundaryMismatch(disputeId, false, leaf.stateHash, leaf.proof))
        .to.be.revertedWithCustomError(dm, "DisputeManagerJobNotActive")
        .withArgs(jobId);
      await expect(dm.closeMoot(disputeId)).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.Moot);
    });
  });

  describe("when step leaf k differs from checkpoint i+1", function () {
    it("convicts while a committee votes, releasing the jurors without penalty", async function () {
      const { sys, traj, jobId, disputeId } = await loadFixture(lyingAtEnd);
      const dm = sys.disputeManager;
      // The steps inside the tree are honest; the challenger pinpoints step 0 anyway.
      const a = splitStepProof(traj, 0);
      const b = splitStepProof(traj, 1);
      await dm.connect(sys.challenger).pinpoint(disputeId, 0, a, b);
      const jurors = await drawCommittee(sys, disputeId);
      expect((await dm.getDispute(disputeId)).phase).to.equal(BigInt(Phase.Voting));
      const lockId = await dm.jurorLockId(disputeId, 0);
      const seated = distinctSeats(jurors);
      const seatLockedBefore = await Promise.all(seated.map(async ([j]) => (await sys.stakeManager.account(j.address)).seatLocked));

      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const { toChallenger, toJurors, toRequester, burned } = split(C);
      const deadBefore = await sys.stakeToken.balanceOf(DEAD);
      const leaf = splitStepProof(traj, K);
      const tx = dm.connect(sys.stranger).proveBoundaryMismatch(disputeId, true, leaf.stateHash, leaf.proof);
      await expect(tx)
        .to.emit(dm, "BoundaryMismatchProven")
        .withArgs(disputeId, true, traj.stateHashes[(INTERVAL + 1) * K], FAKE);
      await expect(tx)
        .to.emit(dm, "WorkerConvicted")
        .withArgs(jobId, disputeId, sys.challenger.address, C, toChallenger, toJurors, toRequester, burned);
      for (const [j, n] of seated)
        await expect(tx)
          .to.emit(sys.stakeManager, "Unlocked")
          .withArgs(j.address, lockId, n * JUROR_LOCK);
      await expect(tx).not.to.emit(dm, "JurorPenalized");
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerFault);
      // Seat locks go back to the reserve, unpenalised.
      for (let i = 0; i < seated.length; i++) {
        const [j, n] = seated[i];
        expect(await sys.stakeManager.lockedAmount(j.address, lockId)).to.equal(0n);
        expect((await sys.stakeManager.account(j.address)).seatLocked).to.equal(seatLockedBefore[i] - n * JUROR_LOCK);
      }
      // No ruling yet, so no coherent juror: their share burns.
      expect(await sys.stakeToken.balanceOf(DEAD)).to.equal(deadBefore + burned + toJurors);
      expect(await dm.credits(sys.challenger.address)).to.equal(COMMIT_BOND + DISPUTE_BOND + toChallenger);
    });

    it("overrides an acquittal that is not final yet", async function () {
      const { sys, traj, jobId, disputeId } = await loadFixture(lyingAtEnd);
      const dm = sys.disputeManager;
      const a = splitStepProof(traj, 0);
      const b = splitStepProof(traj, 1);
      await dm.connect(sys.challenger).pinpoint(disputeId, 0, a, b);
      const jurors = await drawCommittee(sys, disputeId);
      await vote(sys, disputeId, jurors, [HONEST, HONEST, HONEST]);
      await dm.resolve(disputeId);
      expect((await dm.getDispute(disputeId)).phase).to.equal(BigInt(Phase.Ruled));
      const leaf = splitStepProof(traj, K);
      await expect(dm.proveBoundaryMismatch(disputeId, true, leaf.stateHash, leaf.proof)).to.emit(dm, "WorkerConvicted");
      expect((await sys.jobMarket.getJob(jobId)).status).to.equal(BigInt(JobStatus.Rejected));
      expect((await dm.getDispute(disputeId)).ruling).to.equal(BigInt(Ruling.WorkerFault));
      await expect(dm.finalizeRuling(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase");
    });
  });

  describe("when the step tree agrees with the checkpoints", function () {
    it("reverts at both boundaries and leaves the job untouched", async function () {
      const { sys, jobId, disputeId } = await loadFixture(honestDispute);
      const dm = sys.disputeManager;
      for (const [atEnd, j] of [
        [false, 0],
        [true, K],
      ] as const) {
        const leaf = stepProof(sys.traj, INTERVAL, j);
        await expect(dm.proveBoundaryMismatch(disputeId, atEnd, leaf.stateHash, leaf.proof))
          .to.be.revertedWithCustomError(dm, "DisputeManagerBoundaryConsistent")
          .withArgs(disputeId, atEnd);
      }
      expect((await sys.jobMarket.getJob(jobId)).status).to.equal(BigInt(JobStatus.Submitted));
      expect((await sys.stakeManager.account(sys.worker.address)).locked).to.equal((await sys.jobMarket.getJob(jobId)).collateral);
    });
  });
});
