import { expect } from "chai";
import { ethers } from "hardhat";
import type { Interface } from "ethers";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyUint } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import {
  DEFAULT_DA_PARAMS,
  E18,
  EMPTY_CHECKPOINT,
  K,
  SALT,
  commit,
  deployDataAvailability,
  deployReentrantSystem,
  deploySystem,
  disputeWithCommittee,
  openCommitted,
  openDispute,
  stepRange,
  submitTrajectory,
  submittedJob,
  type System,
} from "../helpers/system";
import { drawAuditors } from "../helpers/jobs";
import { checkpointProof, chunkProof, fakeFile, fileTrajectory } from "../helpers/trees";
import { proof, rangeProof, stepLeaf, type Hex } from "../helpers/merkle";
import type { IDataAvailability } from "../../typechain-types/contracts/DataAvailability";
import { ChallengeKind as Kind, ChallengeStatus as Status } from "../../verifier/protocol/enums";

const DA = DEFAULT_DA_PARAMS;
const LEAF_BOND = BigInt(DA.leafBond);
const CHUNK_BOND = BigInt(DA.chunkBond);
const ANSWER_FEE = BigInt(DA.answerFee);
const PER_ANSWER = BigInt(DA.perAnswerTime);

async function withDispute() {
  const sys = await deploySystem();
  const jobId = await submittedJob(sys);
  const disputeId = await openDispute(sys, jobId, 1);
  return { sys, jobId, disputeId };
}

async function withJob() {
  const sys = await deploySystem();
  const jobId = await submittedJob(sys);
  return { sys, jobId };
}

/** Conservation: the DataAvailability holds exactly the bonds of open/answered challenges plus every credit. */
async function expectConserved(sys: System) {
  const da = sys.dataAvailability;
  let owed = 0n;
  const n = await da.challengeCount();
  for (let i = 1n; i <= n; i++) owed += (await da.getChallenge(i)).bond;
  for (const s of [sys.worker, sys.challenger, sys.challenger2, sys.stranger, ...sys.jurors]) owed += await da.credits(s.address);
  expect(await sys.stakeToken.balanceOf(await da.getAddress())).to.equal(owed);
}

describe("DataAvailability", function () {
  describe("deployment and governance", function () {
    it("stores references and parameters; refuses zero addresses", async function () {
      const sys = await loadFixture(deploySystem);
      const da = sys.dataAvailability;
      expect(await da.jobMarket()).to.equal(await sys.jobMarket.getAddress());
      expect(await da.stakingToken()).to.equal(await sys.stakeToken.getAddress());
      expect(await da.MAX_LEAVES()).to.equal(64n);
      const p = await da.params();
      expect(p.leafBond).to.equal(LEAF_BOND);
      expect(p.maxPerCase).to.equal(BigInt(DA.maxPerCase));
      const [jm, tok] = [await sys.jobMarket.getAddress(), await sys.stakeToken.getAddress()];
      const z = ethers.ZeroAddress;
      for (const args of [
        [z, jm, tok],
        [sys.admin.address, z, tok],
        [sys.admin.address, jm, z],
      ] as const) {
        await expect(deployDataAvailability(...args)).to.be.revertedWithCustomError(da, "DataAvailabilityZeroAddress");
      }
    });

    it("setDisputeManager: once, non-zero, governor only", async function () {
      const sys = await loadFixture(deploySystem);
      const fresh = await deployDataAvailability(sys.admin.address, await sys.jobMarket.getAddress(), await sys.stakeToken.getAddress());
      const dm = await sys.disputeManager.getAddress();
      await expect(fresh.connect(sys.stranger).setDisputeManager(dm)).to.be.revertedWithCustomError(
        fresh,
        "AccessControlUnauthorizedAccount",
      );
      await expect(fresh.setDisputeManager(ethers.ZeroAddress)).to.be.revertedWithCustomError(fresh, "DataAvailabilityZeroAddress");
      await expect(fresh.setDisputeManager(dm)).to.emit(fresh, "DisputeManagerSet").withArgs(dm);
      await expect(fresh.setDisputeManager(dm))
        .to.be.revertedWithCustomError(fresh, "DataAvailabilityDisputeManagerAlreadySet")
        .withArgs(dm);
    });

    const bad: [string, Partial<IDataAvailability.ParamsStruct>][] = [
      ["answerFee", { answerFee: 0 }],
      ["leafBond", { leafBond: ANSWER_FEE - 1n }],
      ["chunkBond", { chunkBond: ANSWER_FEE - 1n }],
      ["openerFee", { openerFee: CHUNK_BOND + 1n }],
      ["perAnswerTime", { perAnswerTime: 0 }],
      ["perAnswerTime", { perAnswerTime: 86_401 }],
      ["maxOpenPerCase", { maxOpenPerCase: 0 }],
      ["maxOpenPerCase", { maxOpenPerCase: 5, maxPerCase: 4 }],
      ["maxPerCase", { maxOpenPerCase: 1, maxPerCase: 16_385 }],
    ];
    for (const [field, override] of bad) {
      it(`setParams names the field: DataAvailabilityInvalidParam("${field}")`, async function () {
        const sys = await loadFixture(deploySystem);
        await expect(sys.dataAvailability.setParams({ ...DA, ...override }))
          .to.be.revertedWithCustomError(sys.dataAvailability, "DataAvailabilityInvalidParam")
          .withArgs(field);
      });
    }

    it("setParams replaces the parameters (bounds included) and is governor only", async function () {
      const sys = await loadFixture(deploySystem);
      const da = sys.dataAvailability;
      const edge = {
        ...DA,
        leafBond: ANSWER_FEE,
        chunkBond: ANSWER_FEE,
        openerFee: ANSWER_FEE,
        perAnswerTime: 86_400,
        maxOpenPerCase: 2,
        maxPerCase: 2,
      };
      await expect(da.setParams(edge)).to.emit(da, "ParamsUpdated");
      expect((await da.params()).maxPerCase).to.equal(2n);
      // 16,384 8 KiB chunks: the state sizes 4,096 of the former 32 KiB chunks admitted
      expect(await da.MAX_PER_CASE()).to.equal(16_384n);
      await expect(da.setParams({ ...DA, maxPerCase: 16_384 })).to.emit(da, "ParamsUpdated");
      await expect(da.connect(sys.stranger).setParams(DA)).to.be.revertedWithCustomError(da, "AccessControlUnauthorizedAccount");
    });
  });

  describe("checkJobTerms (V1.7)", function () {
    it("needs ⌈(k+1)/64⌉ leaf demands plus (2 + ⌈log₂ k⌉) whole states within maxPerCase", async function () {
      const sys = await loadFixture(deploySystem);
      const da = sys.dataAvailability;
      // k = 2, 10 000-byte states (2 chunks): 1 + 3·2 = 7
      await da.checkJobTerms(2, 10_000);
      await da.setParams({ ...DA, maxOpenPerCase: 1, maxPerCase: 7 });
      await da.checkJobTerms(2, 10_000);
      await da.setParams({ ...DA, maxOpenPerCase: 1, maxPerCase: 6 });
      await expect(da.checkJobTerms(2, 10_000)).to.be.revertedWithCustomError(da, "DataAvailabilityStateTooLarge").withArgs(10_000, 7, 6);
      // and createJob refuses such a job
      const { jobParams } = await import("../helpers/system");
      await expect(sys.jobMarket.connect(sys.requester).createJob(await jobParams(sys)))
        .to.be.revertedWithCustomError(da, "DataAvailabilityStateTooLarge")
        .withArgs(10_000, 7, 6);
    });
  });

  describe("evidence", function () {
    it("proveCheckpoint stores a proven leaf once (idempotent) and rejects bad proofs or jobs", async function () {
      const { sys, jobId } = await loadFixture(withJob);
      const da = sys.dataAvailability;
      const c = checkpointProof(sys.traj, 2);
      await expect(da.connect(sys.stranger).proveCheckpoint(jobId, 2, c.stateHash, c.stepRoot, c.proof))
        .to.emit(da, "CheckpointProven")
        .withArgs(jobId, 2, c.stateHash, c.stepRoot);
      const leaf = await da.checkpointLeaf(jobId, 2);
      expect([leaf.known, leaf.stateHash, leaf.stepRoot]).to.deep.equal([true, c.stateHash, c.stepRoot]);
      await expect(da.proveCheckpoint(jobId, 2, c.stateHash, c.stepRoot, c.proof)).not.to.emit(da, "CheckpointProven");
      await expect(da.proveCheckpoint(jobId, 3, c.stateHash, c.stepRoot, c.proof))
        .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidProof")
        .withArgs(jobId);
      await expect(da.proveCheckpoint(jobId + 1n, 2, c.stateHash, c.stepRoot, c.proof))
        .to.be.revertedWithCustomError(da, "DataAvailabilityJobNotActive")
        .withArgs(jobId + 1n);
    });

    describe("proveStepLeaves (range proofs)", function () {
      it("stores every contiguous range of an interval's k+1 leaves", async function () {
        const { sys, jobId } = await loadFixture(withJob);
        const da = sys.dataAvailability;
        const c = checkpointProof(sys.traj, 1);
        await da.proveCheckpoint(jobId, 1, c.stateHash, c.stepRoot, c.proof);
        for (const [first, count] of [
          [0, 1],
          [1, 1],
          [2, 1],
          [0, 2],
          [1, 2],
          [0, 3],
        ] as const) {
          const r = stepRange(sys.traj, 1, first, count);
          await expect(da.proveStepLeaves(jobId, 1, first, r.stateHashes, r.proof))
            .to.emit(da, "StepLeavesProven")
            .withArgs(jobId, 1, first, r.stateHashes);
        }
        for (let j = 0; j <= K; j++) {
          const leaf = await da.stepLeaf(jobId, K + j);
          expect([leaf.known, leaf.stateHash]).to.deep.equal([true, sys.traj.stateHashes[K + j]]);
        }
      });

      it("rejects bad proofs: a wrong leaf, a missing or extra sibling, a shifted range", async function () {
        const { sys, jobId } = await loadFixture(withJob);
        const da = sys.dataAvailability;
        const c = checkpointProof(sys.traj, 1);
        await da.proveCheckpoint(jobId, 1, c.stateHash, c.stepRoot, c.proof);
        const r = stepRange(sys.traj, 1, 1, 2);
        const bad = async (first: number, hashes: Hex[], prf: Hex[]) =>
          expect(da.proveStepLeaves(jobId, 1, first, hashes, prf))
            .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidProof")
            .withArgs(jobId);
        await bad(1, [r.stateHashes[0], ethers.ZeroHash as Hex], r.proof);
        await bad(1, r.stateHashes, r.proof.slice(1));
        await bad(1, r.stateHashes, [...r.proof, ethers.ZeroHash as Hex]);
        await bad(1, r.stateHashes, []);
        await bad(0, r.stateHashes, r.proof);
      });

      it("rejects bad ranges, an unknown checkpoint, an interval out of the job, and a job not Submitted", async function () {
        const { sys, jobId } = await loadFixture(withJob);
        const da = sys.dataAvailability;
        const r = stepRange(sys.traj, 1, 0, 2);
        await expect(da.proveStepLeaves(jobId, 1, 0, r.stateHashes, r.proof))
          .to.be.revertedWithCustomError(da, "DataAvailabilityUnknownLeaf")
          .withArgs(jobId, 1, 0);
        const c = checkpointProof(sys.traj, 1);
        await da.proveCheckpoint(jobId, 1, c.stateHash, c.stepRoot, c.proof);
        await expect(da.proveStepLeaves(jobId, 1, 0, [], []))
          .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidRange")
          .withArgs(jobId, 1, 0, 0);
        await expect(da.proveStepLeaves(jobId, 1, 2, r.stateHashes, r.proof))
          .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidRange")
          .withArgs(jobId, 1, 2, 2);
        const many = Array.from({ length: 65 }, () => ethers.ZeroHash);
        await expect(da.proveStepLeaves(jobId, 1, 0, many, []))
          .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidRange")
          .withArgs(jobId, 1, 0, 65);
        await expect(da.proveStepLeaves(jobId, 4, 0, r.stateHashes, r.proof))
          .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidIndex")
          .withArgs(jobId, 4);
        await expect(da.proveStepLeaves(jobId + 1n, 1, 0, r.stateHashes, r.proof)).to.be.revertedWithCustomError(
          da,
          "DataAvailabilityJobNotActive",
        );
      });

      it("matches the TS range proof on a larger tree (UPowHashing.rangeRoot through a k=16 job)", async function () {
        const sys = await loadFixture(deploySystem);
        const { fileTrajectory, fakeFile } = await import("../helpers/trees");
        const k = 16;
        const traj = fileTrajectory(
          Array.from({ length: 2 * k + 1 }, (_, t) => fakeFile(`big:${t}`, 100)),
          k,
        );
        const jobId = await submitTrajectory(sys, traj, {
          totalSteps: 2 * k,
          checkpointInterval: k,
          initialStateHash: traj.stateHashes[0],
          stateBytes: 100n,
        });
        const c = checkpointProof(traj, 1);
        await sys.dataAvailability.proveCheckpoint(jobId, 1, c.stateHash, c.stepRoot, c.proof);
        const leaves = Array.from({ length: k + 1 }, (_, j) => stepLeaf(k + j, traj.stateHashes[k + j]));
        for (const [first, count] of [
          [0, 17],
          [3, 9],
          [16, 1],
          [5, 1],
          [7, 8],
          [1, 15],
        ] as const) {
          const hashes = traj.stateHashes.slice(k + first, k + first + count);
          await expect(sys.dataAvailability.proveStepLeaves(jobId, 1, first, hashes, rangeProof(leaves, first, count))).to.emit(
            sys.dataAvailability,
            "StepLeavesProven",
          );
        }
      });
    });
  });

  describe("known-leaf bitmaps (issue 17)", function () {
    it("storing a leaf marks it alone: neighbours sharing its bitmap word, and across the 256-leaf word boundary, stay unknown", async function () {
      const sys = await loadFixture(deploySystem);
      const da = sys.dataAvailability;
      const k = 128;
      const traj = fileTrajectory(
        Array.from({ length: 3 * k + 1 }, (_, t) => fakeFile(`bits:${t}`, 64)),
        k,
      );
      const jobId = await submitTrajectory(sys, traj, {
        totalSteps: 3 * k,
        checkpointInterval: k,
        initialStateHash: traj.stateHashes[0],
        stateBytes: 64n,
      });
      const known = async (i: number) => (await da.checkpointLeaf(jobId, i)).known;
      const c = checkpointProof(traj, 1);
      await da.proveCheckpoint(jobId, 1, c.stateHash, c.stepRoot, c.proof);
      expect([await known(0), await known(1), await known(2)]).to.deep.equal([false, true, false]);
      // A leaf not stored reads as all zero, as before.
      const blank = await da.checkpointLeaf(jobId, 2);
      expect([blank.stateHash, blank.stepRoot]).to.deep.equal([ethers.ZeroHash, ethers.ZeroHash]);
      // Interval 1 holds global steps 128..256: 255 ends the first bitmap word, 256 opens the second.
      const leaves = Array.from({ length: k + 1 }, (_, j) => stepLeaf(k + j, traj.stateHashes[k + j]));
      const step = async (g: number) => {
        const l = await da.stepLeaf(jobId, g);
        return l.known ? l.stateHash : null;
      };
      await da.proveStepLeaves(jobId, 1, 127, [traj.stateHashes[255]], rangeProof(leaves, 127, 1));
      expect([await step(254), await step(255), await step(256)]).to.deep.equal([null, traj.stateHashes[255], null]);
      // A chunk challenge needs its leaf stored: 255 may be challenged, 256 not yet.
      const c2 = checkpointProof(traj, 2);
      await da.proveCheckpoint(jobId, 2, c2.stateHash, c2.stepRoot, c2.proof);
      // Both checkpoints stored: the dispute opens without proofs and without a demand.
      const id = await openDispute(sys, jobId, 1, sys.challenger, SALT, { withoutProofs: true });
      expect((await sys.disputeManager.getDispute(id)).checkpointDemand).to.equal(0n);
      await expect(da.connect(sys.challenger).challengeStateChunk(jobId, id, 1, 128, 0))
        .to.be.revertedWithCustomError(da, "DataAvailabilityUnknownLeaf")
        .withArgs(jobId, 1, 128);
      await da.proveStepLeaves(jobId, 1, 128, [traj.stateHashes[256]], rangeProof(leaves, 128, 1));
      expect([await step(255), await step(256), await step(257)]).to.deep.equal([traj.stateHashes[255], traj.stateHashes[256], null]);
      await expect(da.connect(sys.challenger).challengeStateChunk(jobId, id, 1, 128, 0)).to.emit(da, "ChallengeOpened");
    });
  });

  describe("demands in a dispute", function () {
    it("demandStepLeaves takes leafBond and emits ChallengeOpened; the worker's answer stores the leaves", async function () {
      const { sys, jobId, disputeId } = await loadFixture(withDispute);
      const da = sys.dataAvailability;
      const timeout = await sys.jobMarket.answerTimeout(jobId);
      const tx = da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 0, 3);
      await expect(tx)
        .to.emit(da, "ChallengeOpened")
        .withArgs(1n, jobId, disputeId, sys.challenger.address, Kind.StepLeaves, 1, 0, 3, ethers.ZeroHash, anyUint);
      await expect(tx).to.changeTokenBalances(sys.stakeToken, [sys.challenger, da], [-LEAF_BOND, LEAF_BOND]);
      const c = await da.getChallenge(1n);
      expect(c.deadline).to.equal(BigInt(await time.latest()) + timeout);
      expect(await da.openChallenges(jobId)).to.equal(1n);
      expect((await da.disputeActivity(disputeId))[0]).to.equal(1n);
      const r = stepRange(sys.traj, 1, 0, 3);
      await expect(da.connect(sys.worker).answerStepLeaves(1n, r.stateHashes.slice(0, 2), r.proof)).to.be.revertedWithCustomError(
        da,
        "DataAvailabilityInvalidRange",
      );
      await expect(da.connect(sys.worker).answerStepLeaves(1n, r.stateHashes, r.proof))
        .to.emit(da, "ChallengeAnswered")
        .withArgs(1n, sys.worker.address);
      expect((await da.getChallenge(1n)).status).to.equal(Status.Answered);
      expect(await da.openChallenges(jobId)).to.equal(0n);
      const [open, last] = await da.disputeActivity(disputeId);
      expect([open, last]).to.deep.equal([0n, BigInt(await time.latest())]);
      // known leaves cannot be demanded again
      await expect(da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 1, 1))
        .to.be.revertedWithCustomError(da, "DataAvailabilityAlreadyKnown")
        .withArgs(jobId, 1);
      // answering twice, or with the wrong kind of answer
      await expect(da.answerStepLeaves(1n, r.stateHashes, r.proof))
        .to.be.revertedWithCustomError(da, "DataAvailabilityWrongStatus")
        .withArgs(1n, Status.Answered);
      await expect(da.answerChunk(1n, 1, "0x00", []))
        .to.be.revertedWithCustomError(da, "DataAvailabilityWrongKind")
        .withArgs(1n, Kind.StepLeaves);
      await expectConserved(sys);
    });

    it("demandStepLeaves reverts for a bad range, an unknown checkpoint, a non-party or a closed job", async function () {
      const { sys, jobId, disputeId } = await loadFixture(withDispute);
      const da = sys.dataAvailability;
      const d = da.connect(sys.challenger);
      await expect(d.demandStepLeaves(jobId, disputeId, 1, 0, 0))
        .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidRange")
        .withArgs(jobId, 1, 0, 0);
      await expect(d.demandStepLeaves(jobId, disputeId, 1, 0, 65)).to.be.revertedWithCustomError(da, "DataAvailabilityInvalidRange");
      await expect(d.demandStepLeaves(jobId, disputeId, 1, 2, 2)).to.be.revertedWithCustomError(da, "DataAvailabilityInvalidRange");
      await expect(d.demandStepLeaves(jobId, disputeId, 3, 0, 1))
        .to.be.revertedWithCustomError(da, "DataAvailabilityUnknownLeaf")
        .withArgs(jobId, 3, 0);
      await expect(d.demandStepLeaves(jobId, disputeId, 4, 0, 1))
        .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidIndex")
        .withArgs(jobId, 4);
      await expect(da.connect(sys.stranger).demandStepLeaves(jobId, disputeId, 1, 0, 1))
        .to.be.revertedWithCustomError(da, "DataAvailabilityNotAllowed")
        .withArgs(jobId, disputeId, sys.stranger.address);
      await expect(d.demandStepLeaves(jobId + 1n, disputeId, 1, 0, 1)).to.be.revertedWithCustomError(da, "DataAvailabilityJobNotActive");
      // a dispute of another job does not make its challenger a party here
      await expect(d.demandStepLeaves(jobId, 99n, 1, 0, 1)).to.be.revertedWithCustomError(da, "DataAvailabilityNotAllowed");
    });

    it("openCheckpointDemand is the DisputeManager's only", async function () {
      const { sys, jobId } = await loadFixture(withJob);
      await expect(sys.dataAvailability.openCheckpointDemand(jobId, 1, 1, sys.stranger.address))
        .to.be.revertedWithCustomError(sys.dataAvailability, "DataAvailabilityNotDisputeManager")
        .withArgs(sys.admin.address);
    });

    it("answerCheckpoints rejects bad proofs and late answers", async function () {
      const { sys, jobId } = await loadFixture(withJob);
      const da = sys.dataAvailability;
      await commit(sys, jobId, 1);
      await openCommitted(sys, jobId, 1, { withoutProofs: true });
      const a = checkpointProof(sys.traj, 1);
      const b = checkpointProof(sys.traj, 2);
      await expect(da.answerCheckpoints(1n, a.stateHash, a.stepRoot, a.proof, a.stateHash, a.stepRoot, a.proof))
        .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidProof")
        .withArgs(jobId);
      await expect(da.answerStepLeaves(1n, [], []))
        .to.be.revertedWithCustomError(da, "DataAvailabilityWrongKind")
        .withArgs(1n, Kind.Checkpoints);
      const c = await da.getChallenge(1n);
      await time.increaseTo(c.deadline + 1n);
      await expect(da.answerCheckpoints(1n, a.stateHash, a.stepRoot, a.proof, b.stateHash, b.stepRoot, b.proof))
        .to.be.revertedWithCustomError(da, "DataAvailabilityDeadlinePassed")
        .withArgs(1n, c.deadline);
    });

    describe("chunk challenges", function () {
      async function withStoredLeaf() {
        const f = await withDispute();
        const r = stepRange(f.sys.traj, 1, 0, 3);
        await f.sys.dataAvailability.proveStepLeaves(f.jobId, 1, 0, r.stateHashes, r.proof);
        return f;
      }

      it("challengeStateChunk of a stored leaf; answered by the full chunk, the short last chunk, or the last chunk for an index past the end", async function () {
        const { sys, jobId, disputeId } = await loadFixture(withStoredLeaf);
        const da = sys.dataAvailability;
        const file = sys.traj.states[K + 1];
        const tx = da.connect(sys.challenger).challengeStateChunk(jobId, disputeId, 1, 1, 0);
        await expect(tx)
          .to.emit(da, "ChallengeOpened")
          .withArgs(1n, jobId, disputeId, sys.challenger.address, Kind.StateChunk, 1, 0, 1, file.hash, anyUint);
        await expect(tx).to.changeTokenBalance(sys.stakeToken, sys.challenger, -CHUNK_BOND);
        await da.connect(sys.challenger).challengeStateChunk(jobId, disputeId, 1, 1, 1);
        await da.connect(sys.challenger).challengeStateChunk(jobId, disputeId, 1, 1, 7);
        // the i-th open challenge of the job is due answerTimeout + i·perAnswerTime after opening (V1.7)
        const [c1, c2] = [await da.getChallenge(1n), await da.getChallenge(2n)];
        expect(c2.deadline - c1.deadline).to.equal(PER_ANSWER + 1n);
        const len = file.bytes.length;
        const p0 = chunkProof(file, 0);
        const p1 = chunkProof(file, 1);
        await expect(da.answerChunk(1n, len, p0.chunk, p0.proof))
          .to.emit(da, "ChallengeAnswered")
          .withArgs(1n, sys.admin.address);
        await expect(da.answerChunk(2n, len, p1.chunk, p1.proof)).to.emit(da, "ChallengeAnswered");
        await expect(da.answerChunk(3n, len, p1.chunk, p1.proof)).to.emit(da, "ChallengeAnswered");
        await expectConserved(sys);
      });

      it("answerChunk rejects a wrong chunk, a wrong length, a zero length or a bad proof", async function () {
        const { sys, jobId, disputeId } = await loadFixture(withStoredLeaf);
        const da = sys.dataAvailability;
        await da.connect(sys.challenger).challengeStateChunk(jobId, disputeId, 1, 1, 0);
        const file = sys.traj.states[K + 1];
        const len = file.bytes.length;
        const p0 = chunkProof(file, 0);
        const p1 = chunkProof(file, 1);
        for (const [l, chunk, prf] of [
          [len, p1.chunk, p0.proof],
          [len, p0.chunk.subarray(1), p0.proof],
          [0, p0.chunk, p0.proof],
          [len, p0.chunk, p1.proof],
          [len, p0.chunk, []],
          [len + 1, p0.chunk, p0.proof],
        ] as const) {
          await expect(da.answerChunk(1n, l, chunk, prf as Hex[]))
            .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidChunk")
            .withArgs(1n);
        }
        await expect(da.answerChunk(9n, len, p0.chunk, p0.proof))
          .to.be.revertedWithCustomError(da, "DataAvailabilityWrongKind")
          .withArgs(9n, Kind.None);
      });

      it("a full 8 KiB chunk of a 10 MB state is answered in at most 400k gas (issue 17: a 32 KiB chunk cost 1.34M); a 32 KiB answer is refused", async function () {
        const base = await loadFixture(deploySystem);
        const big = fakeFile("10 MB state", 10_000_000);
        const sys: System = {
          ...base,
          traj: fileTrajectory(
            base.traj.states.map((s, t) => (t === K + 1 ? big : s)),
            K,
          ),
        };
        const da = sys.dataAvailability;
        const jobId = await submittedJob(sys, { stateBytes: 10_000_000n });
        const disputeId = await openDispute(sys, jobId, 1);
        const r = stepRange(sys.traj, 1, 0, 3);
        await da.proveStepLeaves(jobId, 1, 0, r.stateHashes, r.proof);
        await da.connect(sys.challenger).challengeStateChunk(jobId, disputeId, 1, 1, 700);
        const p = chunkProof(big, 700);
        expect([p.chunk.length, p.proof.length]).to.deep.equal([8_192, 11]);
        // the former chunk size: chunks 700..703 as one answer, with the proof of their subtree
        await expect(da.answerChunk(1n, big.bytes.length, big.bytes.subarray(700 * 8_192, 704 * 8_192), p.proof.slice(2)))
          .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidChunk")
          .withArgs(1n);
        const tx = await da.connect(sys.worker).answerChunk(1n, big.bytes.length, p.chunk, p.proof);
        await expect(tx).to.emit(da, "ChallengeAnswered").withArgs(1n, sys.worker.address);
        expect((await tx.wait())!.gasUsed).to.be.at.most(400_000n);
      });

      it("challengeStateChunk reverts for an unknown leaf or an index out of the interval", async function () {
        const { sys, jobId, disputeId } = await loadFixture(withDispute);
        const da = sys.dataAvailability.connect(sys.challenger);
        await expect(da.challengeStateChunk(jobId, disputeId, 1, 0, 0))
          .to.be.revertedWithCustomError(da, "DataAvailabilityUnknownLeaf")
          .withArgs(jobId, 1, 0);
        await expect(da.challengeStateChunk(jobId, disputeId, 1, K + 1, 0))
          .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidIndex")
          .withArgs(jobId, K + 1);
        await expect(da.challengeStateChunk(jobId, disputeId, 4, 1, 0))
          .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidIndex")
          .withArgs(jobId, 4);
      });

      it("challengeBatchChunk of a batch proven against the data root; answered by the batch's chunk", async function () {
        const { sys, jobId, disputeId } = await loadFixture(withDispute);
        const da = sys.dataAvailability;
        const b = sys.data.batches[2];
        await expect(da.connect(sys.challenger).challengeBatchChunk(jobId, disputeId, 2, b.hash, proof(sys.data.leaves, 1), 0))
          .to.be.revertedWithCustomError(da, "DataAvailabilityInvalidProof")
          .withArgs(jobId);
        await expect(da.connect(sys.challenger).challengeBatchChunk(jobId, disputeId, 2, b.hash, proof(sys.data.leaves, 2), 0))
          .to.emit(da, "ChallengeOpened")
          .withArgs(1n, jobId, disputeId, sys.challenger.address, Kind.BatchChunk, 0, 0, 2, b.hash, anyUint);
        const p = chunkProof(b, 0);
        await expect(da.connect(sys.worker).answerChunk(1n, b.bytes.length, p.chunk, p.proof)).to.emit(da, "ChallengeAnswered");
      });
    });
  });

  describe("caps (V1.7)", function () {
    it("maxOpenPerCase open and maxPerCase ever per dispute", async function () {
      const { sys, jobId, disputeId } = await loadFixture(withDispute);
      const da = sys.dataAvailability;
      await da.setParams({ ...DA, maxOpenPerCase: 2, maxPerCase: 3 });
      const r = stepRange(sys.traj, 1, 0, 3);
      await da.proveStepLeaves(jobId, 1, 0, r.stateHashes, r.proof);
      const d = da.connect(sys.challenger);
      await d.challengeStateChunk(jobId, disputeId, 1, 0, 0);
      await d.challengeStateChunk(jobId, disputeId, 1, 1, 0);
      await expect(d.challengeStateChunk(jobId, disputeId, 1, 2, 0))
        .to.be.revertedWithCustomError(da, "DataAvailabilityTooManyOpen")
        .withArgs(jobId, disputeId, 2n);
      const f = sys.traj.states[K];
      const p = chunkProof(f, 0);
      await da.answerChunk(1n, f.bytes.length, p.chunk, p.proof);
      await d.challengeStateChunk(jobId, disputeId, 1, 2, 0);
      const f1 = sys.traj.states[K + 1];
      const p1 = chunkProof(f1, 0);
      await da.answerChunk(2n, f1.bytes.length, p1.chunk, p1.proof);
      await expect(d.challengeStateChunk(jobId, disputeId, 1, 0, 1))
        .to.be.revertedWithCustomError(da, "DataAvailabilityTooManyChallenges")
        .withArgs(jobId, disputeId, 3n);
      // another dispute has its own caps: a flooding challenger only delays its own dispute (V2.2)
      const other = await openDispute(sys, jobId, 1, sys.challenger2);
      await expect(da.connect(sys.challenger2).challengeStateChunk(jobId, other, 1, 0, 1)).to.emit(da, "ChallengeOpened");
    });
  });

  describe("auditor challenges without a dispute (V1.5)", function () {
    it("an assigned auditor may challenge during the window; a stranger or a late auditor may not", async function () {
      const { sys, jobId } = await loadFixture(withJob);
      const da = sys.dataAvailability;
      const auditors = await drawAuditors(
        { ...sys, worker2: sys.challenger2, disputer: sys.stranger, auditors: sys.jurors } as unknown as Parameters<typeof drawAuditors>[0],
        jobId,
      );
      const auditor = auditors[0];
      const b = sys.data.batches[0];
      await expect(da.connect(sys.stranger).challengeBatchChunk(jobId, 0, 0, b.hash, proof(sys.data.leaves, 0), 0))
        .to.be.revertedWithCustomError(da, "DataAvailabilityNotAllowed")
        .withArgs(jobId, 0, sys.stranger.address);
      await expect(da.connect(auditor).challengeBatchChunk(jobId, 0, 0, b.hash, proof(sys.data.leaves, 0), 0))
        .to.emit(da, "ChallengeOpened")
        .withArgs(1n, jobId, 0n, auditor.address, Kind.BatchChunk, 0, 0, 0, b.hash, anyUint);
      // unanswered: the worker is convicted, the auditor is the beneficiary (no dispute)
      await time.increaseTo((await da.getChallenge(1n)).deadline + 1n);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const tx = da.timeoutChallenge(1n);
      await expect(tx).to.emit(da, "ChallengeTimedOut").withArgs(1n, true);
      await expect(tx)
        .to.emit(sys.disputeManager, "WorkerConvicted")
        .withArgs(jobId, 0n, auditor.address, C, anyUint, anyUint, anyUint, anyUint);
      await expect(tx).to.emit(da, "Credited").withArgs(auditor.address, CHUNK_BOND);
    });

    it("after the window an auditor may no longer challenge", async function () {
      const { sys, jobId } = await loadFixture(withJob);
      const [auditor] = await drawAuditors(
        { ...sys, worker2: sys.challenger2, disputer: sys.stranger, auditors: sys.jurors } as unknown as Parameters<typeof drawAuditors>[0],
        jobId,
      );
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      const b = sys.data.batches[0];
      await expect(
        sys.dataAvailability.connect(auditor).challengeBatchChunk(jobId, 0, 0, b.hash, proof(sys.data.leaves, 0), 0),
      ).to.be.revertedWithCustomError(sys.dataAvailability, "DataAvailabilityNotAllowed");
    });
  });

  describe("timeoutChallenge", function () {
    it("reverts before the deadline and when not open", async function () {
      const { sys, jobId, disputeId } = await loadFixture(withDispute);
      const da = sys.dataAvailability;
      await expect(da.timeoutChallenge(1n)).to.be.revertedWithCustomError(da, "DataAvailabilityWrongStatus").withArgs(1n, Status.None);
      await da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 0, 1);
      const c = await da.getChallenge(1n);
      await expect(da.timeoutChallenge(1n)).to.be.revertedWithCustomError(da, "DataAvailabilityDeadlineNotPassed").withArgs(1n, c.deadline);
    });

    it("counts evidence that arrived another way as an answer (no conviction)", async function () {
      const { sys, jobId, disputeId } = await loadFixture(withDispute);
      const da = sys.dataAvailability;
      await da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 0, 2);
      const r = stepRange(sys.traj, 1, 0, 2);
      await da.connect(sys.stranger).proveStepLeaves(jobId, 1, 0, r.stateHashes, r.proof);
      await time.increaseTo((await da.getChallenge(1n)).deadline + 1n);
      const tx = da.timeoutChallenge(1n);
      await expect(tx).to.emit(da, "ChallengeAnswered").withArgs(1n, sys.admin.address);
      await expect(tx).not.to.emit(sys.disputeManager, "WorkerConvicted");
      expect((await da.getChallenge(1n)).status).to.equal(Status.Answered);
    });

    it("counts checkpoint leaves proven by someone else as an answer", async function () {
      const { sys, jobId } = await loadFixture(withJob);
      const da = sys.dataAvailability;
      await commit(sys, jobId, 1);
      await openCommitted(sys, jobId, 1, { withoutProofs: true });
      for (const i of [1, 2]) {
        const c = checkpointProof(sys.traj, i);
        await da.proveCheckpoint(jobId, i, c.stateHash, c.stepRoot, c.proof);
      }
      await time.increaseTo((await da.getChallenge(1n)).deadline + 1n);
      await expect(da.timeoutChallenge(1n)).to.emit(da, "ChallengeAnswered");
    });

    it("refunds without conviction when the job already ended; only one conviction per job", async function () {
      const { sys, jobId, disputeId } = await loadFixture(withDispute);
      const da = sys.dataAvailability;
      await da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 0, 1);
      await da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 1, 1);
      await time.increaseTo((await da.getChallenge(2n)).deadline + 1n);
      await expect(da.timeoutChallenge(1n)).to.emit(sys.disputeManager, "WorkerConvicted");
      const tx = da.timeoutChallenge(2n);
      await expect(tx).to.emit(da, "ChallengeTimedOut").withArgs(2n, false);
      await expect(tx).to.emit(da, "Credited").withArgs(sys.challenger.address, LEAF_BOND);
      await expect(tx).not.to.emit(sys.disputeManager, "WorkerConvicted");
      await expectConserved(sys);
    });
  });

  describe("settle and withdraw", function () {
    it("after a finalized job: answerFee to the worker, the rest to the opener", async function () {
      const { sys, jobId, disputeId } = await loadFixture(withDispute);
      const da = sys.dataAvailability;
      await da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 0, 1);
      const r = stepRange(sys.traj, 1, 0, 1);
      await da.connect(sys.worker).answerStepLeaves(1n, r.stateHashes, r.proof);
      await expect(da.settle(1n)).to.be.revertedWithCustomError(da, "DataAvailabilityJobNotOver").withArgs(jobId);
      await time.increaseTo((await sys.disputeManager.pinpointDeadline(disputeId)) + 1n);
      await sys.disputeManager.timeoutPinpoint(disputeId);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await sys.jobMarket.finalize(jobId);
      const tx = da.connect(sys.stranger).settle(1n);
      await expect(tx)
        .to.emit(da, "ChallengeSettled")
        .withArgs(1n, ANSWER_FEE, LEAF_BOND - ANSWER_FEE);
      await expect(tx).to.emit(da, "Credited").withArgs(sys.worker.address, ANSWER_FEE);
      await expect(tx)
        .to.emit(da, "Credited")
        .withArgs(sys.challenger.address, LEAF_BOND - ANSWER_FEE);
      await expect(da.settle(1n)).to.be.revertedWithCustomError(da, "DataAvailabilityWrongStatus").withArgs(1n, Status.Settled);
      await expectConserved(sys);
      const w = da.connect(sys.worker).withdraw();
      await expect(w).to.emit(da, "Withdrawn").withArgs(sys.worker.address, ANSWER_FEE);
      await expect(w).to.changeTokenBalance(sys.stakeToken, sys.worker, ANSWER_FEE);
      await expect(da.connect(sys.worker).withdraw())
        .to.be.revertedWithCustomError(da, "DataAvailabilityNothingToWithdraw")
        .withArgs(sys.worker.address);
    });

    it("after a rejected job: the whole bond back to the opener", async function () {
      const { sys, jobId, disputeId } = await loadFixture(withDispute);
      const da = sys.dataAvailability;
      await da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 0, 1);
      const r = stepRange(sys.traj, 1, 0, 1);
      await da.connect(sys.worker).answerStepLeaves(1n, r.stateHashes, r.proof);
      await da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 1, 1);
      await time.increaseTo((await da.getChallenge(2n)).deadline + 1n);
      await da.timeoutChallenge(2n);
      await expect(da.settle(1n)).to.emit(da, "ChallengeSettled").withArgs(1n, 0n, LEAF_BOND);
      await expect(da.settle(2n)).to.be.revertedWithCustomError(da, "DataAvailabilityWrongStatus").withArgs(2n, Status.TimedOut);
      await expectConserved(sys);
    });
  });

  describe("juror challenges (V4.1)", function () {
    it("a drawn juror may challenge in its round; the worker's answer is credited to the worker whoever sends it", async function () {
      const sys = await loadFixture(deploySystem);
      const jobId = await submittedJob(sys);
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      const b = sys.data.batches[1];
      await expect(
        sys.dataAvailability.connect(jurors[1]).challengeBatchChunk(jobId, disputeId, 1, b.hash, proof(sys.data.leaves, 1), 0),
      ).to.emit(sys.dataAvailability, "ChallengeOpened");
      expect(await sys.disputeManager.isChallengeParty(jobId, disputeId, jurors[1].address)).to.equal(true);
    });
  });

  describe("when the staking token re-enters", function () {
    async function armed() {
      const sys = await deployReentrantSystem();
      const jobId = await submittedJob(sys);
      const disputeId = await openDispute(sys, jobId, 1);
      await sys.dataAvailability.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 0, 1);
      await time.increaseTo((await sys.dataAvailability.getChallenge(1n)).deadline + 1n);
      await sys.dataAvailability.timeoutChallenge(1n); // credits the challenger its leaf bond
      return { sys, jobId };
    }
    const calls: [string, unknown[]][] = [
      ["demandStepLeaves", [1n, 1n, 1, 0, 1]],
      ["challengeStateChunk", [1n, 1n, 1, 0, 0]],
      ["challengeBatchChunk", [1n, 1n, 0, ethers.ZeroHash, [], 0]],
      ["timeoutChallenge", [1n]],
      ["withdraw", []],
    ];
    for (const [fn, args] of calls) {
      it(`${fn} is nonReentrant`, async function () {
        const { sys } = await loadFixture(armed);
        const da = sys.dataAvailability;
        const iface: Interface = da.interface;
        await sys.reentrant.arm(await da.getAddress(), iface.encodeFunctionData(fn, args));
        await expect(da.connect(sys.challenger).withdraw()).to.be.revertedWithCustomError(da, "ReentrancyGuardReentrantCall");
      });
    }
  });

  it("views return empty records for unknown ids", async function () {
    const sys = await loadFixture(deploySystem);
    const da = sys.dataAvailability;
    expect((await da.getChallenge(1)).status).to.equal(Status.None);
    expect((await da.checkpointLeaf(1, 0)).known).to.equal(false);
    expect((await da.stepLeaf(1, 0)).known).to.equal(false);
    expect(await da.challengeCount()).to.equal(0n);
    expect(await da.disputeActivity(1)).to.deep.equal([0n, 0n]);
    void SALT;
    void EMPTY_CHECKPOINT;
    void E18;
  });
});
