import { expect } from "chai";
import { ethers } from "hardhat";
import type { Interface } from "ethers";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyUint } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import {
  DEFAULT_DISPUTE_PARAMS,
  E18,
  K,
  SALT,
  challengeCommitment,
  deployDisputeManager,
  deployReentrantSystem,
  deploySystem,
  disputeWithCommittee,
  drawCommittee,
  openDispute,
  pinpoint,
  submittedJob,
  vote,
  voteCommitment,
  type System,
} from "../helpers/system";
import { checkpointProof, chunkProof, stepProof } from "../helpers/trees";
import { proof, type Hex } from "../helpers/merkle";
import type { IDisputeManager } from "../../typechain-types/contracts/DisputeManager";

// Enum values of IDisputeManager.
const Phase = { None: 0, Pinpointing: 1, AwaitingDraw: 2, Voting: 3, Ruled: 4, Closed: 5 } as const;
const Ruling = { None: 0, WorkerFault: 1, WorkerHonest: 2, Indeterminate: 3, Void: 4, ChallengerTimedOut: 5, Superseded: 6, Moot: 7 } as const;
const Chunk = { None: 0, Open: 1, Answered: 2, TimedOut: 3, Refunded: 4 } as const;
const JobStatus = { Submitted: 3, Finalized: 4, Rejected: 5 } as const;
const FAULT = 1;
const HONEST = 2;
const INDET = 3;
const BPS = 10_000n;
const DEAD = "0x000000000000000000000000000000000000dEaD";
const P = DEFAULT_DISPUTE_PARAMS;
const DISPUTE_BOND = BigInt(P.disputeBond);
const CHUNK_BOND = BigInt(P.chunkBond);
const APPEAL_BOND = BigInt(P.appealBond);
const JUROR_LOCK = BigInt(P.jurorLock);
const INCOHERENCE = BigInt(P.incoherencePenalty);
const REPLAY_COST = BigInt(P.replayCost);

async function systemWithJob() {
  const sys = await deploySystem();
  const jobId = await submittedJob(sys);
  return { sys, jobId };
}

async function ruled(sys: System, jobId: bigint, votes: number[], interval = 1) {
  const { disputeId, jurors } = await disputeWithCommittee(sys, jobId, interval);
  await vote(sys, disputeId, jurors, votes);
  await sys.disputeManager.resolve(disputeId);
  return { disputeId, jurors };
}

async function passAppeal(sys: System, disputeId: bigint) {
  const d = await sys.disputeManager.getDispute(disputeId);
  await time.increaseTo(d.appealEnd + 1n);
}

function paramsArray(p: IDisputeManager.ParamsStruct) {
  return [
    p.disputeBond, p.chunkBond, p.appealBond, p.jurorLock, p.incoherencePenalty, p.replayCost, p.challengerBps, p.jurorBps,
    p.requesterBps, p.bondJurorBps, p.committeeSize, p.quorum, p.maxRounds, p.maxAppeals, p.randomnessDelay, p.revealWindow,
    p.appealWindow,
  ].map((v) => BigInt(v));
}

/** Conservation: the manager holds exactly the open bonds plus every credit. */
async function expectConserved(sys: System, disputeIds: bigint[], chunkIds: bigint[] = [], extra: string[] = []) {
  const dm = sys.disputeManager;
  let owed = 0n;
  for (const id of disputeIds) {
    const d = await dm.getDispute(id);
    owed += d.bond + d.jurorPot;
    for (let a = 0n; a < d.appeals; a++) if (d.phase !== BigInt(Phase.Closed)) owed += (await dm.getAppeal(id, a)).bond;
  }
  for (const id of chunkIds) {
    const c = await dm.getChunkChallenge(id);
    if (c.status === BigInt(Chunk.Open)) owed += c.bond;
  }
  const accounts = new Set([
    sys.worker.address, sys.challenger.address, sys.challenger2.address, sys.stranger.address, sys.requester.address,
    ...sys.jurors.map((j) => j.address), ...extra,
  ]);
  for (const a of accounts) owed += await dm.credits(a);
  expect(await sys.stakeToken.balanceOf(await dm.getAddress())).to.equal(owed);
}

describe("DisputeManager", function () {
  describe("when deployed", function () {
    it("wires the staking token, the modules and the parameters", async function () {
      const sys = await loadFixture(deploySystem);
      const dm = sys.disputeManager;
      expect(await dm.stakingToken()).to.equal(await sys.stakeToken.getAddress());
      expect(await dm.stakeManager()).to.equal(await sys.stakeManager.getAddress());
      expect(await dm.jobMarket()).to.equal(await sys.jobMarket.getAddress());
      expect(await dm.randomness()).to.equal(await sys.randomness.getAddress());
      expect(await dm.hasRole(await dm.GOVERNOR_ROLE(), sys.admin.address)).to.equal(true);
      expect(await dm.hasRole(await dm.DEFAULT_ADMIN_ROLE(), sys.admin.address)).to.equal(true);
      expect((await dm.params()).map((v) => BigInt(v))).to.deep.equal(paramsArray(P));
      expect(await dm.BURN_ADDRESS()).to.equal(DEAD);
    });

    it("emits ParamsUpdated from the constructor", async function () {
      const sys = await loadFixture(deploySystem);
      const { disputeManager } = await deployDisputeManager(
        await sys.stakeManager.getAddress(), await sys.jobMarket.getAddress(), await sys.randomness.getAddress(), sys.admin.address,
      );
      await expect(disputeManager.deploymentTransaction()).to.emit(disputeManager, "ParamsUpdated").withArgs(paramsArray(P));
    });

    it("reports committee sizes M, 2M+1, ... capped at 127", async function () {
      const { disputeManager: dm } = await loadFixture(deploySystem);
      expect(await dm.committeeSizeAt(0)).to.equal(3n);
      expect(await dm.committeeSizeAt(1)).to.equal(7n);
      expect(await dm.committeeSizeAt(2)).to.equal(15n);
      expect(await dm.committeeSizeAt(6)).to.equal(127n);
      expect(await dm.committeeSizeAt(200)).to.equal(127n);
    });

    it("caps a committee that would grow past 127", async function () {
      const { disputeManager: dm } = await loadFixture(deploySystem);
      await dm.setParams({ ...P, committeeSize: 30, quorum: 16 });
      expect(await dm.committeeSizeAt(2)).to.equal(123n);
      expect(await dm.committeeSizeAt(3)).to.equal(127n);
    });

    it("derives juror lock ids from manager, dispute and round", async function () {
      const { disputeManager: dm } = await loadFixture(deploySystem);
      const expected = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256", "uint256"], [await dm.getAddress(), 7, 2]),
      );
      expect(await dm.jurorLockId(7, 2)).to.equal(expected);
    });
  });

  describe("setParams", function () {
    it("replaces the parameters and emits ParamsUpdated", async function () {
      const { disputeManager: dm } = await loadFixture(deploySystem);
      const next = { ...P, disputeBond: 70n * E18, maxAppeals: 3 };
      await expect(dm.setParams(next)).to.emit(dm, "ParamsUpdated").withArgs(paramsArray(next));
      expect((await dm.params()).map((v) => BigInt(v))).to.deep.equal(paramsArray(next));
    });

    it("reverts for a non-governor", async function () {
      const { disputeManager: dm, stranger } = await loadFixture(deploySystem);
      await expect(dm.connect(stranger).setParams(P))
        .to.be.revertedWithCustomError(dm, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, await dm.GOVERNOR_ROLE());
    });

    const bad: [string, Partial<IDisputeManager.ParamsStruct>, number][] = [
      ["zero disputeBond", { disputeBond: 0 }, 0],
      ["zero chunkBond", { chunkBond: 0 }, 1],
      ["zero appealBond", { appealBond: 0 }, 2],
      ["zero jurorLock", { jurorLock: 0, incoherencePenalty: 0 }, 3],
      ["incoherencePenalty above jurorLock", { incoherencePenalty: JUROR_LOCK + 1n }, 4],
      ["replayCost above disputeBond", { replayCost: DISPUTE_BOND + 1n }, 5],
      ["slash shares above 100%", { challengerBps: 5_000, jurorBps: 3_000, requesterBps: 2_001 }, 6],
      ["bondJurorBps above 100%", { bondJurorBps: 10_001 }, 7],
      ["zero committee", { committeeSize: 0 }, 8],
      ["committee above 31", { committeeSize: 32 }, 8],
      ["zero quorum", { quorum: 0 }, 9],
      ["quorum above committee", { quorum: 4 }, 9],
      ["zero maxRounds", { maxRounds: 0 }, 10],
      ["maxRounds above 4", { maxRounds: 5 }, 10],
      ["maxAppeals above 3", { maxAppeals: 4 }, 11],
      ["zero randomnessDelay", { randomnessDelay: 0 }, 12],
      ["randomnessDelay above 256", { randomnessDelay: 257 }, 12],
      ["revealWindow below a minute", { revealWindow: 59 }, 13],
      ["revealWindow above 30 days", { revealWindow: 30 * 86_400 + 1 }, 13],
      ["appealWindow below a minute", { appealWindow: 59 }, 14],
      ["appealWindow above 30 days", { appealWindow: 30 * 86_400 + 1 }, 14],
    ];
    for (const [what, change, index] of bad) {
      it(`reverts with DisputeManagerInvalidParam(${index}) for ${what}`, async function () {
        const { disputeManager: dm } = await loadFixture(deploySystem);
        await expect(dm.setParams({ ...P, ...change })).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidParam").withArgs(index);
      });
    }

    it("accepts the bounds themselves", async function () {
      const { disputeManager: dm } = await loadFixture(deploySystem);
      const edge = {
        ...P, incoherencePenalty: JUROR_LOCK, replayCost: DISPUTE_BOND, challengerBps: 6_000, jurorBps: 2_000, requesterBps: 2_000,
        bondJurorBps: 10_000, committeeSize: 31, quorum: 31, maxRounds: 4, maxAppeals: 3, randomnessDelay: 256,
        revealWindow: 30 * 86_400, appealWindow: 60,
      };
      await expect(dm.setParams(edge)).to.emit(dm, "ParamsUpdated");
    });
  });

  describe("commitChallenge", function () {
    it("records the block and emits ChallengeCommitted", async function () {
      const { disputeManager: dm, challenger } = await loadFixture(deploySystem);
      const c = challengeCommitment(1n, 1, challenger.address, SALT);
      const tx = await dm.connect(challenger).commitChallenge(c);
      const block = BigInt((await tx.wait())!.blockNumber);
      await expect(tx).to.emit(dm, "ChallengeCommitted").withArgs(c, challenger.address, block);
      expect(await dm.commitments(c)).to.equal(block);
    });

    it("reverts when the commitment exists", async function () {
      const { disputeManager: dm, challenger } = await loadFixture(deploySystem);
      const c = challengeCommitment(1n, 1, challenger.address, SALT);
      await dm.connect(challenger).commitChallenge(c);
      await expect(dm.connect(challenger).commitChallenge(c)).to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentExists").withArgs(c);
    });
  });

  describe("openDispute", function () {
    it("takes the bond, registers the dispute on the job and emits DisputeOpened", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await dm.connect(sys.challenger).commitChallenge(challengeCommitment(jobId, 1, sys.challenger.address, SALT));
      const before = await sys.stakeToken.balanceOf(sys.challenger.address);
      const tx = dm.connect(sys.challenger).openDispute(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2));
      const pinpointTimeout = (await sys.jobMarket.pinpointTimeout(jobId)) + (await sys.jobMarket.answerTimeout(jobId));
      await expect(tx).to.emit(sys.jobMarket, "JobDisputeOpened").withArgs(jobId, 1);
      const ts = BigInt(await time.latest());
      await expect(tx).to.emit(dm, "DisputeOpened").withArgs(1n, jobId, 1, sys.challenger.address, DISPUTE_BOND, ts + pinpointTimeout);
      expect(await sys.stakeToken.balanceOf(sys.challenger.address)).to.equal(before - DISPUTE_BOND);
      const d = await dm.getDispute(1n);
      expect(d.jobId).to.equal(jobId);
      expect(d.challenger).to.equal(sys.challenger.address);
      expect(d.interval).to.equal(1n);
      expect(d.phase).to.equal(BigInt(Phase.Pinpointing));
      expect(d.bond).to.equal(DISPUTE_BOND);
      expect(d.stepRoot).to.equal(sys.traj.stepRoots[1]);
      expect(await dm.activeDispute(jobId, 1)).to.equal(1n);
      expect(await dm.commitments(challengeCommitment(jobId, 1, sys.challenger.address, SALT))).to.equal(0n);
      await expectConserved(sys, [1n]);
    });

    it("reverts for an unknown commitment (wrong salt or another sender)", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await dm.connect(sys.challenger).commitChallenge(challengeCommitment(jobId, 1, sys.challenger.address, SALT));
      const c2 = challengeCommitment(jobId, 1, sys.challenger2.address, SALT);
      await expect(dm.connect(sys.challenger2).openDispute(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2)))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentNotFound")
        .withArgs(c2);
    });

    it("reverts when the commitment is from the same block", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const c = challengeCommitment(jobId, 1, sys.challenger.address, SALT);
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        await dm.connect(sys.challenger).commitChallenge(c);
        // Simulated on top of the pending block that holds the commitment.
        const pendingBlock = BigInt(await ethers.provider.getBlockNumber()) + 1n;
        await expect(
          dm
            .connect(sys.challenger)
            .openDispute.staticCall(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2), { blockTag: "pending" }),
        )
          .to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentTooRecent")
          .withArgs(c, pendingBlock);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
        await mine(1);
      }
    });

    it("reverts when the job is not submitted", async function () {
      const sys = await loadFixture(deploySystem);
      await sys.disputeManager.connect(sys.challenger).commitChallenge(challengeCommitment(99n, 1, sys.challenger.address, SALT));
      await expect(
        sys.disputeManager.connect(sys.challenger).openDispute(99n, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2)),
      ).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerJobNotDisputable").withArgs(99n);
    });

    it("reverts when the challenge window is over", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      await sys.disputeManager.connect(sys.challenger).commitChallenge(challengeCommitment(jobId, 1, sys.challenger.address, SALT));
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await expect(
        sys.disputeManager.connect(sys.challenger).openDispute(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2)),
      ).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerJobNotDisputable").withArgs(jobId);
    });

    it("reverts for the last checkpoint, which has no interval", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const last = sys.traj.checkpointLeaves.length - 1;
      await sys.disputeManager.connect(sys.challenger).commitChallenge(challengeCommitment(jobId, last, sys.challenger.address, SALT));
      await expect(
        sys.disputeManager.connect(sys.challenger).openDispute(jobId, last, SALT, checkpointProof(sys.traj, last), checkpointProof(sys.traj, last)),
      ).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerInvalidInterval").withArgs(jobId, last);
    });

    it("reverts when either checkpoint leaf does not prove", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager.connect(sys.challenger);
      await dm.commitChallenge(challengeCommitment(jobId, 1, sys.challenger.address, SALT));
      const good = checkpointProof(sys.traj, 1);
      const next = checkpointProof(sys.traj, 2);
      await expect(dm.openDispute(jobId, 1, SALT, { ...good, stepRoot: ethers.ZeroHash }, next)).to.be.revertedWithCustomError(
        dm, "DisputeManagerInvalidProof",
      );
      await expect(dm.openDispute(jobId, 1, SALT, good, { ...next, stateHash: ethers.ZeroHash })).to.be.revertedWithCustomError(
        dm, "DisputeManagerInvalidProof",
      );
      // Positions are bound: leaf 2's data under index 1 fails.
      await expect(dm.openDispute(jobId, 1, SALT, next, next)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidProof");
    });

    describe("when the interval is already disputed", function () {
      it("lets an earlier commitment supersede an unpinpointed dispute and refunds it (§10.5)", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const dm = sys.disputeManager;
        // challenger2 commits first; challenger commits later but front-runs the opening.
        await dm.connect(sys.challenger2).commitChallenge(challengeCommitment(jobId, 1, sys.challenger2.address, SALT));
        const first = await openDispute(sys, jobId, 1, sys.challenger);
        const tx = dm.connect(sys.challenger2).openDispute(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2));
        await expect(tx).to.emit(dm, "DisputeSuperseded").withArgs(first, 2n);
        await expect(tx).to.emit(dm, "DisputeClosed").withArgs(first, jobId, Ruling.Superseded);
        await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
        await expect(tx).not.to.emit(sys.jobMarket, "JobDisputeOpened");
        expect(await dm.activeDispute(jobId, 1)).to.equal(2n);
        expect((await sys.jobMarket.getJob(jobId)).openDisputes).to.equal(1n);
        expect((await dm.getDispute(first)).phase).to.equal(BigInt(Phase.Closed));
        await expectConserved(sys, [1n, 2n]);
      });

      it("reverts for a later commitment", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const first = await openDispute(sys, jobId, 1, sys.challenger);
        await sys.disputeManager.connect(sys.challenger2).commitChallenge(challengeCommitment(jobId, 1, sys.challenger2.address, SALT));
        await expect(
          sys.disputeManager.connect(sys.challenger2).openDispute(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2)),
        ).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerIntervalDisputed").withArgs(jobId, 1, first);
      });

      it("reverts for an earlier commitment once the active dispute is pinpointed", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        await sys.disputeManager.connect(sys.challenger2).commitChallenge(challengeCommitment(jobId, 1, sys.challenger2.address, SALT));
        const first = await openDispute(sys, jobId, 1, sys.challenger);
        await pinpoint(sys, first, 0);
        await expect(
          sys.disputeManager.connect(sys.challenger2).openDispute(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2)),
        ).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerIntervalDisputed").withArgs(jobId, 1, first);
      });

      it("runs disputes on two intervals concurrently", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const a = await openDispute(sys, jobId, 0, sys.challenger);
        const b = await openDispute(sys, jobId, 2, sys.challenger2);
        expect(await sys.disputeManager.activeDispute(jobId, 0)).to.equal(a);
        expect(await sys.disputeManager.activeDispute(jobId, 2)).to.equal(b);
        expect((await sys.jobMarket.getJob(jobId)).openDisputes).to.equal(2n);
      });
    });
  });

  describe("pinpoint", function () {
    it("names the step, sets the randomness block and emits StepPinpointed", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      const a = stepProof(sys.traj, 1, 1);
      const b = stepProof(sys.traj, 1, 2);
      const tx = await sys.disputeManager.connect(sys.challenger).pinpoint(id, 1, a.stateHash, a.proof, b.stateHash, b.proof);
      const block = BigInt((await tx.wait())!.blockNumber);
      const globalStep = 1 * K + 1;
      await expect(tx)
        .to.emit(sys.disputeManager, "StepPinpointed")
        .withArgs(id, globalStep, a.stateHash, b.stateHash, block + BigInt(P.randomnessDelay));
      const d = await sys.disputeManager.getDispute(id);
      expect(d.phase).to.equal(BigInt(Phase.AwaitingDraw));
      expect(d.step).to.equal(BigInt(globalStep));
    });

    it("reverts in the wrong phase", async function () {
      const { sys } = await loadFixture(systemWithJob);
      await expect(sys.disputeManager.connect(sys.challenger).pinpoint(5n, 0, ethers.ZeroHash, [], ethers.ZeroHash, []))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerWrongPhase")
        .withArgs(5n, Phase.None);
    });

    it("reverts for anyone but the challenger", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      await expect(pinpoint(sys, id, 0, sys.stranger))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerNotChallenger")
        .withArgs(id, sys.stranger.address);
    });

    it("reverts after the pinpoint deadline", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      const d = await sys.disputeManager.getDispute(id);
      await time.increaseTo(d.deadline + 1n);
      await expect(pinpoint(sys, id, 0)).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerDeadlinePassed").withArgs(id, d.deadline);
    });

    it("reverts for a local step outside 0..k-1", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      await expect(sys.disputeManager.connect(sys.challenger).pinpoint(id, K, ethers.ZeroHash, [], ethers.ZeroHash, []))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerInvalidStep")
        .withArgs(id, K);
    });

    it("reverts when either step leaf does not prove", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      const a = stepProof(sys.traj, 1, 0);
      const b = stepProof(sys.traj, 1, 1);
      const dm = sys.disputeManager.connect(sys.challenger);
      await expect(dm.pinpoint(id, 0, b.stateHash, a.proof, b.stateHash, b.proof)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidProof");
      await expect(dm.pinpoint(id, 0, a.stateHash, a.proof, a.stateHash, b.proof)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidProof");
    });
  });

  describe("timeoutPinpoint", function () {
    it("forfeits a silent challenger's bond: replayCost to the worker, the rest burned; the job finalizes", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const id = await openDispute(sys, jobId, 1);
      const d = await dm.getDispute(id);
      await time.increaseTo(d.deadline + 1n);
      const burnedBefore = await sys.stakeToken.balanceOf(DEAD);
      const tx = dm.connect(sys.stranger).timeoutPinpoint(id);
      await expect(tx).to.emit(dm, "BondForfeited").withArgs(id, REPLAY_COST, 0n, DISPUTE_BOND - REPLAY_COST);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.worker.address, REPLAY_COST);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(id, jobId, Ruling.ChallengerTimedOut);
      await expect(tx).to.emit(sys.jobMarket, "JobDisputeClosed").withArgs(jobId, 0);
      expect(await sys.stakeToken.balanceOf(DEAD)).to.equal(burnedBefore + DISPUTE_BOND - REPLAY_COST);
      expect(await dm.activeDispute(jobId, 1)).to.equal(0n);
      await expectConserved(sys, [id]);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await expect(sys.jobMarket.finalize(jobId)).to.emit(sys.jobMarket, "JobFinalized");
    });

    it("reverts before the deadline", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      const d = await sys.disputeManager.getDispute(id);
      await expect(sys.disputeManager.timeoutPinpoint(id))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerDeadlineNotPassed")
        .withArgs(id, d.deadline);
    });

    it("reverts once pinpointed", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      await pinpoint(sys, id, 0);
      await expect(sys.disputeManager.timeoutPinpoint(id))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerWrongPhase")
        .withArgs(id, Phase.AwaitingDraw);
    });

    it("reverts while a chunk challenge on the job is open", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      const s = stepProof(sys.traj, 1, 0);
      await sys.disputeManager.connect(sys.challenger).challengeChunk(id, 0, s.stateHash, s.proof, 0);
      await time.increaseTo((await sys.disputeManager.getDispute(id)).deadline + 1n);
      // The answer deadline is earlier than the pinpoint deadline, so settle the chunk first.
      await expect(sys.disputeManager.timeoutPinpoint(id))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerChunkChallengesOpen")
        .withArgs(jobId);
    });
  });

  describe("chunk challenges (§10.6)", function () {
    async function withChunk() {
      const { sys, jobId } = await systemWithJob();
      const disputeId = await openDispute(sys, jobId, 1);
      const s = stepProof(sys.traj, 1, 1);
      await sys.disputeManager.connect(sys.challenger2).challengeChunk(disputeId, 1, s.stateHash, s.proof, 0);
      return { sys, jobId, disputeId, challengeId: 1n, file: sys.traj.states[K + 1] };
    }

    describe("challengeChunk", function () {
      it("takes the bond and emits ChunkChallenged", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const id = await openDispute(sys, jobId, 1);
        const s = stepProof(sys.traj, 1, 2);
        const tx = sys.disputeManager.connect(sys.challenger2).challengeChunk(id, 2, s.stateHash, s.proof, 1);
        const answer = await sys.jobMarket.answerTimeout(jobId);
        await expect(tx).to.changeTokenBalances(sys.stakeToken, [sys.challenger2, sys.disputeManager], [-CHUNK_BOND, CHUNK_BOND]);
        const ts = BigInt(await time.latest());
        await expect(tx)
          .to.emit(sys.disputeManager, "ChunkChallenged")
          .withArgs(1n, id, sys.challenger2.address, s.stateHash, 1, false, ts + answer);
        const c = await sys.disputeManager.getChunkChallenge(1n);
        expect(c.status).to.equal(BigInt(Chunk.Open));
        expect(c.fileHash).to.equal(s.stateHash);
        expect(await sys.disputeManager.openChunkChallenges(jobId)).to.equal(1n);
        await expectConserved(sys, [id], [1n]);
      });

      it("reverts for a state that is not a step leaf of the interval", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const id = await openDispute(sys, jobId, 1);
        const s = stepProof(sys.traj, 1, 2);
        const dm = sys.disputeManager.connect(sys.challenger2);
        await expect(dm.challengeChunk(id, 1, s.stateHash, s.proof, 0)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidProof");
        await expect(dm.challengeChunk(id, K + 1, s.stateHash, s.proof, 0)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidProof");
      });

      it("reverts for a dispute that does not exist or is closed", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        await expect(sys.disputeManager.challengeChunk(3n, 0, ethers.ZeroHash, [], 0))
          .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerWrongPhase")
          .withArgs(3n, Phase.None);
        const id = await openDispute(sys, jobId, 1);
        await time.increaseTo((await sys.disputeManager.getDispute(id)).deadline + 1n);
        await sys.disputeManager.timeoutPinpoint(id);
        await expect(sys.disputeManager.challengeChunk(id, 0, ethers.ZeroHash, [], 0))
          .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerWrongPhase")
          .withArgs(id, Phase.Closed);
      });

      it("reverts when the job was already convicted", async function () {
        const { sys, jobId, disputeId, challengeId } = await loadFixture(withChunk);
        const other = await openDispute(sys, jobId, 2);
        await time.increaseTo((await sys.disputeManager.getChunkChallenge(challengeId)).deadline + 1n);
        await sys.disputeManager.timeoutChunk(challengeId);
        expect((await sys.disputeManager.getDispute(disputeId)).phase).to.equal(BigInt(Phase.Closed));
        const s = stepProof(sys.traj, 2, 0);
        await expect(sys.disputeManager.challengeChunk(other, 0, s.stateHash, s.proof, 0))
          .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerJobNotActive")
          .withArgs(jobId);
      });
    });

    describe("challengeBatchChunk", function () {
      it("challenges a chunk of a batch proven against the data root", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const id = await openDispute(sys, jobId, 1);
        const batch = sys.data.batches[2];
        await expect(sys.disputeManager.connect(sys.challenger).challengeBatchChunk(id, 2, batch.hash, proof(sys.data.leaves, 2), 0))
          .to.emit(sys.disputeManager, "ChunkChallenged")
          .withArgs(1n, id, sys.challenger.address, batch.hash, 0, true, anyUint);
        const { chunk, proof: p } = chunkProof(batch, 0);
        await expect(sys.disputeManager.connect(sys.worker).answerChunk(1n, batch.bytes.length, chunk, p))
          .to.emit(sys.disputeManager, "ChunkAnswered")
          .withArgs(1n, sys.worker.address, batch.bytes.length, 0);
      });

      it("reverts for a batch not in the data tree", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const id = await openDispute(sys, jobId, 1);
        await expect(
          sys.disputeManager.challengeBatchChunk(id, 1, sys.data.batches[2].hash, proof(sys.data.leaves, 2), 0),
        ).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerInvalidProof");
      });
    });

    describe("answerChunk", function () {
      it("pays the bond to the answering worker (full chunk)", async function () {
        const { sys, jobId, challengeId, file } = await loadFixture(withChunk);
        const { chunk, proof: p } = chunkProof(file, 0);
        const tx = sys.disputeManager.connect(sys.worker).answerChunk(challengeId, file.bytes.length, chunk, p);
        await expect(tx).to.emit(sys.disputeManager, "ChunkAnswered").withArgs(challengeId, sys.worker.address, file.bytes.length, 0);
        await expect(tx).to.emit(sys.disputeManager, "Credited").withArgs(sys.worker.address, CHUNK_BOND);
        expect((await sys.disputeManager.getChunkChallenge(challengeId)).status).to.equal(BigInt(Chunk.Answered));
        expect(await sys.disputeManager.openChunkChallenges(jobId)).to.equal(0n);
        expect(await sys.disputeManager.credits(sys.worker.address)).to.equal(CHUNK_BOND);
      });

      it("accepts the short last chunk, and the last chunk for an index past the end", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const id = await openDispute(sys, jobId, 1);
        const s = stepProof(sys.traj, 1, 0);
        const file = sys.traj.states[K];
        await sys.disputeManager.connect(sys.challenger).challengeChunk(id, 0, s.stateHash, s.proof, 1);
        await sys.disputeManager.connect(sys.challenger).challengeChunk(id, 0, s.stateHash, s.proof, 9);
        const last = chunkProof(file, 1);
        expect(last.chunk.length).to.equal(file.bytes.length - 32768);
        await sys.disputeManager.connect(sys.worker).answerChunk(1n, file.bytes.length, last.chunk, last.proof);
        await expect(sys.disputeManager.connect(sys.worker).answerChunk(2n, file.bytes.length, last.chunk, last.proof))
          .to.emit(sys.disputeManager, "ChunkAnswered")
          .withArgs(2n, sys.worker.address, file.bytes.length, 9);
      });

      it("reverts for a wrong chunk, a wrong length or a zero length", async function () {
        const { sys, challengeId, file } = await loadFixture(withChunk);
        const dm = sys.disputeManager.connect(sys.worker);
        const c0 = chunkProof(file, 0);
        const c1 = chunkProof(file, 1);
        const len = file.bytes.length;
        await expect(dm.answerChunk(challengeId, len, c1.chunk, c1.proof)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidChunk").withArgs(challengeId);
        await expect(dm.answerChunk(challengeId, len, Buffer.alloc(32768), c0.proof)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidChunk").withArgs(challengeId);
        await expect(dm.answerChunk(challengeId, len, c0.chunk, c1.proof.slice(1))).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidChunk").withArgs(challengeId);
        await expect(dm.answerChunk(challengeId, len + 1, c0.chunk, c0.proof)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidChunk").withArgs(challengeId);
        await expect(dm.answerChunk(challengeId, len, c0.chunk, [...c0.proof, c0.proof[0]])).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidChunk").withArgs(challengeId);
        await expect(dm.answerChunk(challengeId, 0, "0x", [])).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidChunk").withArgs(challengeId);
      });

      it("reverts when the challenge is not open or expired", async function () {
        const { sys, challengeId, file } = await loadFixture(withChunk);
        const { chunk, proof: p } = chunkProof(file, 0);
        await expect(sys.disputeManager.answerChunk(7n, 1, chunk, p)).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerChunkNotOpen").withArgs(7n);
        const c = await sys.disputeManager.getChunkChallenge(challengeId);
        await time.increaseTo(c.deadline + 1n);
        await expect(sys.disputeManager.answerChunk(challengeId, file.bytes.length, chunk, p))
          .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerDeadlinePassed")
          .withArgs(c.disputeId, c.deadline);
      });
    });

    describe("timeoutChunk", function () {
      it("convicts a silent worker: same split as a committee conviction, chunk challenger as beneficiary", async function () {
        const { sys, jobId, disputeId, challengeId } = await loadFixture(withChunk);
        const dm = sys.disputeManager;
        const job = await sys.jobMarket.getJob(jobId);
        const C = job.collateral;
        const toJurors = (C * BigInt(P.jurorBps)) / BPS;
        const toRequester = (C * BigInt(P.requesterBps)) / BPS;
        const burned = (C * (BPS - BigInt(P.challengerBps) - BigInt(P.jurorBps) - BigInt(P.requesterBps))) / BPS;
        const toChallenger = C - toJurors - toRequester - burned;
        await time.increaseTo((await dm.getChunkChallenge(challengeId)).deadline + 1n);
        const deadBefore = await sys.stakeToken.balanceOf(DEAD);
        const tx = dm.connect(sys.stranger).timeoutChunk(challengeId);
        await expect(tx).to.emit(dm, "ChunkChallengeExpired").withArgs(challengeId, true);
        await expect(tx).to.emit(dm, "WorkerConvicted").withArgs(jobId, disputeId, sys.challenger2.address, C, toChallenger, toJurors, toRequester, burned);
        await expect(tx).to.emit(sys.jobMarket, "JobRejected").withArgs(jobId, sys.worker.address);
        await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerFault);
        // No committee yet: the jurors' share is burned with the burn share.
        expect(await sys.stakeToken.balanceOf(DEAD)).to.equal(deadBefore + burned + toJurors);
        expect(await dm.credits(sys.challenger2.address)).to.equal(toChallenger + CHUNK_BOND);
        expect(await dm.credits(sys.challenger.address)).to.equal(DISPUTE_BOND);
        expect(await dm.credits(sys.requester.address)).to.equal(toRequester);
        expect((await sys.jobMarket.getJob(jobId)).status).to.equal(BigInt(JobStatus.Rejected));
        expect((await dm.getChunkChallenge(challengeId)).status).to.equal(BigInt(Chunk.TimedOut));
        await expectConserved(sys, [disputeId], [challengeId]);
      });

      it("refunds the bond when the job was convicted by something else first", async function () {
        const { sys, jobId, challengeId } = await loadFixture(withChunk);
        const s = stepProof(sys.traj, 1, 0);
        await sys.disputeManager.connect(sys.stranger).challengeChunk(1n, 0, s.stateHash, s.proof, 0);
        await time.increaseTo((await sys.disputeManager.getChunkChallenge(2n)).deadline + 1n);
        await sys.disputeManager.timeoutChunk(challengeId);
        const tx = sys.disputeManager.timeoutChunk(2n);
        await expect(tx).to.emit(sys.disputeManager, "ChunkChallengeExpired").withArgs(2n, false);
        await expect(tx).to.emit(sys.disputeManager, "Credited").withArgs(sys.stranger.address, CHUNK_BOND);
        await expect(tx).not.to.emit(sys.disputeManager, "WorkerConvicted");
        expect((await sys.disputeManager.getChunkChallenge(2n)).status).to.equal(BigInt(Chunk.Refunded));
        expect(await sys.disputeManager.openChunkChallenges(jobId)).to.equal(0n);
      });

      it("convicts through a challenge of a superseded dispute, burning the jurors' share", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const dm = sys.disputeManager;
        await dm.connect(sys.challenger2).commitChallenge(challengeCommitment(jobId, 1, sys.challenger2.address, SALT));
        const first = await openDispute(sys, jobId, 1, sys.challenger);
        const s = stepProof(sys.traj, 1, 0);
        await dm.connect(sys.stranger).challengeChunk(first, 0, s.stateHash, s.proof, 0);
        await dm.connect(sys.challenger2).openDispute(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2));
        await time.increaseTo((await dm.getChunkChallenge(1n)).deadline + 1n);
        const tx = dm.timeoutChunk(1n);
        await expect(tx).to.emit(dm, "WorkerConvicted");
        await expect(tx).not.to.emit(dm, "DisputeClosed");
        // The live dispute on the interval is now moot.
        await expect(dm.closeMoot(2n)).to.emit(dm, "DisputeClosed").withArgs(2n, jobId, Ruling.Moot);
        await expectConserved(sys, [first, 2n], [1n]);
      });

      it("reverts before the deadline and once settled", async function () {
        const { sys, challengeId } = await loadFixture(withChunk);
        const c = await sys.disputeManager.getChunkChallenge(challengeId);
        await expect(sys.disputeManager.timeoutChunk(challengeId))
          .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerDeadlineNotPassed")
          .withArgs(c.disputeId, c.deadline);
        await time.increaseTo(c.deadline + 1n);
        await sys.disputeManager.timeoutChunk(challengeId);
        await expect(sys.disputeManager.timeoutChunk(challengeId))
          .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerChunkNotOpen")
          .withArgs(challengeId);
      });
    });
  });

  describe("drawCommittee", function () {
    it("draws M jurors (never worker or challenger), locks them and opens the commit window", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const id = await openDispute(sys, jobId, 1);
      await pinpoint(sys, id, 0);
      await mine(P.randomnessDelay);
      const tx = await dm.drawCommittee(id);
      const r = await dm.getRound(id, 0);
      const ts = BigInt(await time.latest());
      const commitEnd = ts + (await sys.jobMarket.revealTimeout(jobId));
      await expect(tx).to.emit(dm, "CommitteeDrawn").withArgs(id, 0, r.jurors, 2, commitEnd, commitEnd + BigInt(P.revealWindow));
      expect(r.jurors.length).to.equal(3);
      expect(r.jurors).not.to.include(sys.worker.address);
      expect(r.jurors).not.to.include(sys.challenger.address);
      for (const j of r.jurors) {
        expect(await sys.stakeManager.lockedAmount(j, await dm.jurorLockId(id, 0))).to.equal(JUROR_LOCK);
        expect((await dm.getVote(id, 0, j)).drawn).to.equal(true);
      }
      const d = await dm.getDispute(id);
      expect(d.phase).to.equal(BigInt(Phase.Voting));
      expect(d.commitEnd).to.equal(commitEnd);
    });

    it("reverts before the randomness block is mined", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      await pinpoint(sys, id, 0);
      const d = await sys.disputeManager.getDispute(id);
      await expect(sys.disputeManager.drawCommittee(id))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerRandomnessNotReady")
        .withArgs(id, d.randomnessBlock);
    });

    it("re-targets an expired randomness block", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      await pinpoint(sys, id, 0);
      await mine(300);
      const next = BigInt(await ethers.provider.getBlockNumber()) + 1n + BigInt(P.randomnessDelay);
      await expect(sys.disputeManager.drawCommittee(id)).to.emit(sys.disputeManager, "RandomnessRetargeted").withArgs(id, next);
      expect((await sys.disputeManager.getDispute(id)).phase).to.equal(BigInt(Phase.AwaitingDraw));
      await drawCommittee(sys, id);
      expect((await sys.disputeManager.getDispute(id)).phase).to.equal(BigInt(Phase.Voting));
    });

    it("reverts in the wrong phase", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      await expect(sys.disputeManager.drawCommittee(id))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerWrongPhase")
        .withArgs(id, Phase.Pinpointing);
    });
  });

  describe("voting", function () {
    async function withCommittee() {
      const { sys, jobId } = await systemWithJob();
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId, 1);
      return { sys, jobId, disputeId, jurors };
    }
    const salt = ethers.id("s") as Hex;

    describe("commitVote", function () {
      it("records the commitment and emits VoteCommitted", async function () {
        const { sys, disputeId, jurors } = await loadFixture(withCommittee);
        const c = voteCommitment(disputeId, 0, jurors[0].address, FAULT, salt);
        await expect(sys.disputeManager.connect(jurors[0]).commitVote(disputeId, c))
          .to.emit(sys.disputeManager, "VoteCommitted")
          .withArgs(disputeId, 0, jurors[0].address);
        expect((await sys.disputeManager.getVote(disputeId, 0, jurors[0].address)).commitment).to.equal(c);
        expect((await sys.disputeManager.getRound(disputeId, 0)).commits).to.equal(1n);
      });

      it("reverts for a non-juror, a second commit, after the window, or in the wrong phase", async function () {
        const { sys, jobId, disputeId, jurors } = await loadFixture(withCommittee);
        const dm = sys.disputeManager;
        await expect(dm.connect(sys.stranger).commitVote(disputeId, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerNotJuror").withArgs(disputeId, sys.stranger.address);
        await dm.connect(jurors[0]).commitVote(disputeId, salt);
        await expect(dm.connect(jurors[0]).commitVote(disputeId, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerAlreadyCommitted").withArgs(disputeId, jurors[0].address);
        const d = await dm.getDispute(disputeId);
        await time.increaseTo(d.commitEnd + 1n);
        await expect(dm.connect(jurors[1]).commitVote(disputeId, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerDeadlinePassed").withArgs(disputeId, d.commitEnd);
        const other = await openDispute(sys, jobId, 2);
        await expect(dm.connect(jurors[1]).commitVote(other, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase").withArgs(other, Phase.Pinpointing);
      });
    });

    describe("revealVote", function () {
      it("reveals after the commit window and emits VoteRevealed", async function () {
        const { sys, disputeId, jurors } = await loadFixture(withCommittee);
        const dm = sys.disputeManager;
        await dm.connect(jurors[0]).commitVote(disputeId, voteCommitment(disputeId, 0, jurors[0].address, INDET, salt));
        await expect(dm.connect(jurors[0]).revealVote(disputeId, INDET, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerRevealNotOpen").withArgs(disputeId);
        await time.increaseTo((await dm.getDispute(disputeId)).commitEnd + 1n);
        await expect(dm.connect(jurors[0]).revealVote(disputeId, INDET, salt)).to.emit(dm, "VoteRevealed").withArgs(disputeId, 0, jurors[0].address, INDET);
        const r = await dm.getRound(disputeId, 0);
        expect(r.reveals).to.equal(1n);
        expect(r.counts[INDET]).to.equal(1n);
      });

      it("opens the reveal early once every juror committed", async function () {
        const { sys, disputeId, jurors } = await loadFixture(withCommittee);
        const dm = sys.disputeManager;
        for (const j of jurors) await dm.connect(j).commitVote(disputeId, voteCommitment(disputeId, 0, j.address, HONEST, salt));
        await expect(dm.connect(jurors[1]).revealVote(disputeId, HONEST, salt)).to.emit(dm, "VoteRevealed");
      });

      it("reverts for an invalid vote, a mismatching or missing commitment, a second reveal, or after the window", async function () {
        const { sys, disputeId, jurors } = await loadFixture(withCommittee);
        const dm = sys.disputeManager;
        await dm.connect(jurors[0]).commitVote(disputeId, voteCommitment(disputeId, 0, jurors[0].address, FAULT, salt));
        const d = await dm.getDispute(disputeId);
        await time.increaseTo(d.commitEnd + 1n);
        await expect(dm.connect(jurors[0]).revealVote(disputeId, 0, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidVote").withArgs(0);
        await expect(dm.connect(jurors[0]).revealVote(disputeId, 4, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidVote").withArgs(4);
        await expect(dm.connect(jurors[0]).revealVote(disputeId, HONEST, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentMismatch").withArgs(disputeId, jurors[0].address);
        await expect(dm.connect(jurors[1]).revealVote(disputeId, FAULT, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentMismatch").withArgs(disputeId, jurors[1].address);
        await dm.connect(jurors[0]).revealVote(disputeId, FAULT, salt);
        await expect(dm.connect(jurors[0]).revealVote(disputeId, FAULT, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentMismatch").withArgs(disputeId, jurors[0].address);
        await time.increaseTo(d.revealEnd + 1n);
        await expect(dm.connect(jurors[0]).revealVote(disputeId, FAULT, salt)).to.be.revertedWithCustomError(dm, "DisputeManagerDeadlinePassed").withArgs(disputeId, d.revealEnd);
      });
    });
  });

  describe("resolve", function () {
    it("reverts while the reveal window runs and not everyone revealed", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      await vote(sys, disputeId, jurors, [FAULT, FAULT, 0]);
      const d = await sys.disputeManager.getDispute(disputeId);
      await expect(sys.disputeManager.resolve(disputeId))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerVotingNotOver")
        .withArgs(disputeId, d.revealEnd);
    });

    it("rules as soon as every juror revealed; penalizes the incoherent juror", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      await vote(sys, disputeId, jurors, [FAULT, FAULT, HONEST]);
      const tx = sys.disputeManager.resolve(disputeId);
      const appealEnd = async () => BigInt(await time.latest()) + BigInt(P.appealWindow);
      await expect(tx).to.emit(sys.disputeManager, "JurorPenalized").withArgs(disputeId, 0, jurors[2].address, INCOHERENCE);
      await expect(tx).to.emit(sys.disputeManager, "RulingGiven").withArgs(disputeId, 0, Ruling.WorkerFault, await appealEnd());
      const d = await sys.disputeManager.getDispute(disputeId);
      expect(d.phase).to.equal(BigInt(Phase.Ruled));
      expect(d.jurorPot).to.equal(INCOHERENCE);
      const lockId = await sys.disputeManager.jurorLockId(disputeId, 0);
      for (const j of jurors) expect(await sys.stakeManager.lockedAmount(j.address, lockId)).to.equal(0n);
      expect((await sys.stakeManager.account(jurors[2].address)).free).to.equal(1_000n * E18 - INCOHERENCE);
    });

    const tallies: [string, number[], number][] = [
      ["a Fault majority", [FAULT, FAULT, INDET], Ruling.WorkerFault],
      ["an Indeterminate majority", [INDET, INDET, FAULT], Ruling.Indeterminate],
      ["a three-way tie (to the worker)", [FAULT, HONEST, INDET], Ruling.WorkerHonest],
      ["a Fault/Honest tie (to the worker)", [FAULT, HONEST, 0], Ruling.WorkerHonest],
      ["a Fault/Indeterminate tie (Indeterminate beats Honest)", [FAULT, INDET, 0], Ruling.Indeterminate],
    ];
    for (const [what, votes, ruling] of tallies) {
      it(`rules ${Object.keys(Ruling)[ruling]} for ${what}`, async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
        await vote(sys, disputeId, jurors, votes);
        await time.increaseTo((await sys.disputeManager.getDispute(disputeId)).revealEnd + 1n);
        await expect(sys.disputeManager.resolve(disputeId)).to.emit(sys.disputeManager, "RulingGiven").withArgs(disputeId, 0, ruling, anyUint);
        expect((await sys.disputeManager.getRound(disputeId, 0)).ruling).to.equal(BigInt(ruling));
      });
    }

    it("starts a larger round when quorum is missed, slashing the silent jurors' whole lock", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      await vote(sys, disputeId, jurors, [FAULT, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      const tx = await dm.resolve(disputeId);
      const block = BigInt((await tx.wait())!.blockNumber);
      await expect(tx).to.emit(dm, "RoundFailed").withArgs(disputeId, 0, 1, 2);
      await expect(tx).to.emit(dm, "JurorPenalized").withArgs(disputeId, 0, jurors[1].address, JUROR_LOCK);
      await expect(tx).to.emit(dm, "JurorPenalized").withArgs(disputeId, 0, jurors[2].address, JUROR_LOCK);
      const d = await dm.getDispute(disputeId);
      expect(d.phase).to.equal(BigInt(Phase.AwaitingDraw));
      expect(d.round).to.equal(1n);
      expect(d.failedRounds).to.equal(1n);
      expect(d.randomnessBlock).to.equal(block + BigInt(P.randomnessDelay));
      expect(d.jurorPot).to.equal(2n * JUROR_LOCK);
      const next = await drawCommittee(sys, disputeId);
      expect(next.length).to.equal(7);
      expect((await dm.getRound(disputeId, 1)).quorum).to.equal(5n);
    });

    it("voids the dispute after maxRounds missed quorums: bond back, pot burned, job finalizes", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      await vote(sys, disputeId, jurors, [0, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      await dm.resolve(disputeId);
      const round1 = await drawCommittee(sys, disputeId);
      await vote(sys, disputeId, round1, [HONEST, 0, 0, 0, 0, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      const deadBefore = await sys.stakeToken.balanceOf(DEAD);
      const tx = dm.resolve(disputeId);
      await expect(tx).to.emit(dm, "RoundFailed").withArgs(disputeId, 1, 1, 5);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.Void);
      await expect(tx).to.emit(sys.jobMarket, "JobDisputeClosed").withArgs(jobId, 0);
      // 3 silent jurors of round 0 and 6 of round 1 lost their whole lock; with no ruling it burns.
      expect(await sys.stakeToken.balanceOf(DEAD)).to.equal(deadBefore + 9n * JUROR_LOCK);
      await expectConserved(sys, [disputeId]);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await expect(sys.jobMarket.finalize(jobId)).to.emit(sys.jobMarket, "JobFinalized");
    });

    it("fails a round that drew no juror (empty pool)", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const id = await openDispute(sys, jobId, 1);
      await pinpoint(sys, id, 0);
      // Every juror leaves the pool.
      for (const j of sys.jurors) await sys.stakeManager.connect(j).requestUnstake((await sys.stakeManager.account(j.address)).free);
      const drawn = await drawCommittee(sys, id);
      expect(drawn.length).to.equal(0);
      await expect(dm.resolve(id)).to.emit(dm, "RoundFailed").withArgs(id, 0, 0, 1);
    });

    it("reverts the void while a chunk challenge is open", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await dm.setParams({ ...P, maxRounds: 1 });
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      const s = stepProof(sys.traj, 1, 0);
      await dm.connect(sys.stranger).challengeChunk(disputeId, 0, s.stateHash, s.proof, 0);
      await vote(sys, disputeId, jurors, [0, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      await expect(dm.resolve(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerChunkChallengesOpen").withArgs(jobId);
    });

    it("reverts in the wrong phase", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      await expect(sys.disputeManager.resolve(id)).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerWrongPhase").withArgs(id, Phase.Pinpointing);
    });
  });

  describe("finalizeRuling", function () {
    it("convicts on WorkerFault and splits the slashed collateral to the wei", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await ruled(sys, jobId, [FAULT, HONEST, FAULT]);
      await passAppeal(sys, disputeId);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const toJurors = (C * 2_000n) / BPS;
      const toRequester = (C * 2_000n) / BPS;
      const burned = (C * 1_000n) / BPS;
      const toChallenger = C - toJurors - toRequester - burned;
      const pot = toJurors + INCOHERENCE; // the Honest voter's penalty joins the jurors' share
      const share = pot / 2n;
      const dust = pot - share * 2n;
      const deadBefore = await sys.stakeToken.balanceOf(DEAD);
      const tx = dm.connect(sys.stranger).finalizeRuling(disputeId);
      await expect(tx).to.emit(dm, "WorkerConvicted").withArgs(jobId, disputeId, sys.challenger.address, C, toChallenger, toJurors, toRequester, burned);
      await expect(tx).to.emit(dm, "Credited").withArgs(jurors[0].address, share + dust);
      await expect(tx).to.emit(dm, "Credited").withArgs(jurors[2].address, share);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerFault);
      await expect(tx).to.emit(sys.jobMarket, "JobRejected").withArgs(jobId, sys.worker.address);
      expect(await dm.credits(sys.challenger.address)).to.equal(toChallenger + DISPUTE_BOND);
      expect(await dm.credits(sys.requester.address)).to.equal(toRequester);
      expect(await dm.credits(jurors[1].address)).to.equal(0n);
      expect(await sys.stakeToken.balanceOf(DEAD)).to.equal(deadBefore + burned);
      expect(toChallenger + toJurors + toRequester + burned).to.equal(C);
      expect((await sys.stakeManager.account(sys.worker.address)).locked).to.equal(0n);
      await expectConserved(sys, [disputeId]);
      // The requester also gets the whole escrow back in the JobMarket.
      expect(await sys.jobMarket.credits(await sys.payToken.getAddress(), sys.requester.address)).to.equal(110n * E18);
    });

    it("acquits on WorkerHonest: replayCost to the worker, the rest to jurors and burn; step judged; the window resumes", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await ruled(sys, jobId, [HONEST, HONEST, HONEST]);
      await passAppeal(sys, disputeId);
      const rest = DISPUTE_BOND - REPLAY_COST;
      const toJurors = (rest * BigInt(P.bondJurorBps)) / BPS;
      const share = toJurors / 3n;
      const tx = dm.finalizeRuling(disputeId);
      await expect(tx).to.emit(dm, "BondForfeited").withArgs(disputeId, REPLAY_COST, toJurors, rest - toJurors);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.worker.address, REPLAY_COST);
      await expect(tx).to.emit(dm, "Credited").withArgs(jurors[0].address, share + (toJurors - share * 3n));
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerHonest);
      await expect(tx).to.emit(sys.jobMarket, "JobDisputeClosed").withArgs(jobId, 0);
      expect(await dm.stepJudged(jobId, K)).to.equal(true);
      await expectConserved(sys, [disputeId]);
      // The judged step cannot be disputed again; another step of the interval can.
      const again = await openDispute(sys, jobId, 1, sys.challenger2);
      await expect(pinpoint(sys, again, 0, sys.challenger2)).to.be.revertedWithCustomError(dm, "DisputeManagerStepAlreadyJudged").withArgs(jobId, K);
      await pinpoint(sys, again, 1, sys.challenger2);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await expect(sys.jobMarket.finalize(jobId)).to.be.revertedWithCustomError(sys.jobMarket, "JobMarketDisputesOpen");
    });

    it("committee acquits and the job finalizes after the window", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const { disputeId } = await ruled(sys, jobId, [HONEST, HONEST, FAULT]);
      await passAppeal(sys, disputeId);
      await sys.disputeManager.finalizeRuling(disputeId);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await expect(sys.jobMarket.finalize(jobId)).to.emit(sys.jobMarket, "JobFinalized");
    });

    it("returns the bond on Indeterminate, pays the pot to the Indeterminate voters, and the job finalizes", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await ruled(sys, jobId, [INDET, FAULT, INDET]);
      await passAppeal(sys, disputeId);
      const tx = dm.finalizeRuling(disputeId);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expect(tx).to.emit(dm, "Credited").withArgs(jurors[0].address, INCOHERENCE / 2n);
      await expect(tx).to.emit(dm, "Credited").withArgs(jurors[2].address, INCOHERENCE / 2n);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.Indeterminate);
      await expect(tx).not.to.emit(dm, "WorkerConvicted");
      await expectConserved(sys, [disputeId]);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await expect(sys.jobMarket.finalize(jobId)).to.emit(sys.jobMarket, "JobFinalized");
    });

    it("pays a unanimous Indeterminate committee nothing extra (empty pot)", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const { disputeId, jurors } = await ruled(sys, jobId, [INDET, INDET, INDET]);
      await passAppeal(sys, disputeId);
      await sys.disputeManager.finalizeRuling(disputeId);
      for (const j of jurors) expect(await sys.disputeManager.credits(j.address)).to.equal(0n);
    });

    it("pays the whole bond to the worker when replayCost equals the bond", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      await sys.disputeManager.setParams({ ...P, replayCost: DISPUTE_BOND });
      const { disputeId } = await ruled(sys, jobId, [HONEST, HONEST, HONEST]);
      await passAppeal(sys, disputeId);
      await expect(sys.disputeManager.finalizeRuling(disputeId)).to.emit(sys.disputeManager, "BondForfeited").withArgs(disputeId, DISPUTE_BOND, 0n, 0n);
    });

    it("reverts before the appeal window ends, in the wrong phase, for a rejected job, or with a chunk open", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [HONEST, HONEST, HONEST]);
      const d = await dm.getDispute(disputeId);
      await expect(dm.finalizeRuling(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerDeadlineNotPassed").withArgs(disputeId, d.appealEnd);
      const other = await openDispute(sys, jobId, 2);
      await expect(dm.finalizeRuling(other)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase").withArgs(other, Phase.Pinpointing);
      const s = stepProof(sys.traj, 2, 0);
      await dm.connect(sys.stranger).challengeChunk(other, 0, s.stateHash, s.proof, 0);
      await passAppeal(sys, disputeId);
      await expect(dm.finalizeRuling(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerChunkChallengesOpen").withArgs(jobId);
      await time.increaseTo((await dm.getChunkChallenge(1n)).deadline + 1n);
      await dm.timeoutChunk(1n);
      await expect(dm.finalizeRuling(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerJobNotActive").withArgs(jobId);
    });
  });

  describe("appeal", function () {
    it("starts a 2M+1 round and emits Appealed; a reversed ruling refunds the appellant", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [FAULT, FAULT, FAULT]);
      const tx = dm.connect(sys.worker).appeal(disputeId);
      await expect(tx).to.emit(dm, "Appealed").withArgs(disputeId, sys.worker.address, 1, APPEAL_BOND);
      await expect(tx).to.changeTokenBalances(sys.stakeToken, [sys.worker, dm], [-APPEAL_BOND, APPEAL_BOND]);
      const a = await dm.getAppeal(disputeId, 0);
      expect(a.appellant).to.equal(sys.worker.address);
      expect(a.appealed).to.equal(BigInt(Ruling.WorkerFault));
      expect((await dm.getDispute(disputeId)).phase).to.equal(BigInt(Phase.AwaitingDraw));
      const round1 = await drawCommittee(sys, disputeId);
      expect(round1.length).to.equal(7);
      await vote(sys, disputeId, round1, [HONEST, HONEST, HONEST, HONEST, FAULT, FAULT, FAULT]);
      await dm.resolve(disputeId);
      expect((await dm.getDispute(disputeId)).decidingRound).to.equal(1n);
      await passAppeal(sys, disputeId);
      const fin = dm.finalizeRuling(disputeId);
      await expect(fin).to.emit(dm, "Credited").withArgs(sys.worker.address, APPEAL_BOND);
      await expect(fin).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerHonest);
      await expectConserved(sys, [disputeId]);
    });

    it("a confirmed ruling sends the appeal bond to the coherent jurors of the appeal round", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [FAULT, FAULT, FAULT]);
      await dm.connect(sys.worker).appeal(disputeId);
      const round1 = await drawCommittee(sys, disputeId);
      await vote(sys, disputeId, round1, [FAULT, FAULT, FAULT, FAULT, FAULT, FAULT, FAULT]);
      await dm.resolve(disputeId);
      await passAppeal(sys, disputeId);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const pot = (C * 2_000n) / BPS + APPEAL_BOND;
      const share = pot / 7n;
      const tx = dm.finalizeRuling(disputeId);
      await expect(tx).to.emit(dm, "Credited").withArgs(round1[0].address, share + (pot - share * 7n));
      await expect(tx).to.emit(dm, "Credited").withArgs(round1[6].address, share);
      await (await tx).wait();
      expect(await dm.credits(sys.worker.address)).to.equal(0n);
      await expectConserved(sys, [disputeId]);
    });

    it("reverts for a non-party, after the window, beyond maxAppeals, or in the wrong phase", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [FAULT, FAULT, FAULT]);
      await expect(dm.connect(sys.stranger).appeal(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerNotParty").withArgs(disputeId, sys.stranger.address);
      await dm.connect(sys.challenger).appeal(disputeId);
      await expect(dm.connect(sys.worker).appeal(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase").withArgs(disputeId, Phase.AwaitingDraw);
      const round1 = await drawCommittee(sys, disputeId);
      await vote(sys, disputeId, round1, [HONEST, HONEST, HONEST, HONEST, HONEST, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      await dm.resolve(disputeId);
      await expect(dm.connect(sys.worker).appeal(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerMaxAppealsReached").withArgs(disputeId);
      const d = await dm.getDispute(disputeId);
      await time.increaseTo(d.appealEnd + 1n);
      await expect(dm.connect(sys.worker).appeal(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerDeadlinePassed").withArgs(disputeId, d.appealEnd);
    });
  });

  describe("closeMoot", function () {
    it("after a conviction, refunds the other disputes in every phase and releases a voting committee", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const pinpointing = await openDispute(sys, jobId, 0, sys.challenger2);
      const { disputeId: voting, jurors } = await disputeWithCommittee(sys, jobId, 2);
      const { disputeId: ruledId } = await ruled(sys, jobId, [HONEST, HONEST, HONEST], 3);
      await dm.connect(sys.challenger).appeal(ruledId); // awaiting the appeal draw, bond held
      await expect(dm.closeMoot(pinpointing)).to.be.revertedWithCustomError(dm, "DisputeManagerJobStillActive").withArgs(jobId);
      // Interval 1 convicts through an unanswered chunk challenge.
      const convicting = await openDispute(sys, jobId, 1, sys.stranger);
      const s = stepProof(sys.traj, 1, 0);
      await dm.connect(sys.stranger).challengeChunk(convicting, 0, s.stateHash, s.proof, 0);
      await time.increaseTo((await dm.getChunkChallenge(1n)).deadline + 1n);
      await dm.timeoutChunk(1n);

      await expect(dm.connect(sys.stranger).closeMoot(pinpointing))
        .to.emit(dm, "DisputeClosed").withArgs(pinpointing, jobId, Ruling.Moot)
        .and.to.emit(dm, "Credited").withArgs(sys.challenger2.address, DISPUTE_BOND);
      const lockId = await dm.jurorLockId(voting, 0);
      const tx = dm.closeMoot(voting);
      for (const j of jurors) await expect(tx).to.emit(sys.stakeManager, "Unlocked").withArgs(j.address, lockId, JUROR_LOCK);
      await expect(dm.closeMoot(ruledId)).to.emit(dm, "Credited").withArgs(sys.challenger.address, APPEAL_BOND);
      await expectConserved(sys, [pinpointing, voting, ruledId, convicting], [1n]);
      await expect(dm.closeMoot(voting)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase").withArgs(voting, Phase.Closed);
      await expect(dm.closeMoot(99n)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase").withArgs(99n, Phase.None);
    });

    it("burns the pot of a moot dispute that had failed a round", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId, 2);
      await vote(sys, disputeId, jurors, [0, 0, FAULT]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      await dm.resolve(disputeId);
      // Another interval's dispute convicts by committee.
      const { disputeId: convicting } = await ruled(sys, jobId, [FAULT, FAULT, FAULT], 1);
      await passAppeal(sys, convicting);
      await dm.finalizeRuling(convicting);
      const dead = await sys.stakeToken.balanceOf(DEAD);
      await dm.closeMoot(disputeId);
      expect(await sys.stakeToken.balanceOf(DEAD)).to.equal(dead + 2n * JUROR_LOCK);
      await expectConserved(sys, [disputeId, convicting]);
    });
  });

  describe("a conviction while the convicting dispute's committee votes", function () {
    it("releases the committee without penalty and pays the appellant-confirmed pot", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [FAULT, FAULT, FAULT]);
      await dm.connect(sys.worker).appeal(disputeId);
      const round1 = await drawCommittee(sys, disputeId);
      const s = stepProof(sys.traj, 1, 1);
      await dm.connect(sys.challenger2).challengeChunk(disputeId, 1, s.stateHash, s.proof, 0);
      await time.increaseTo((await dm.getChunkChallenge(1n)).deadline + 1n);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const pot = (C * 2_000n) / BPS + APPEAL_BOND; // the worker's appeal of a Fault ruling is lost
      const share = pot / 3n;
      const tx = dm.timeoutChunk(1n);
      const lockId = await dm.jurorLockId(disputeId, 1);
      for (const j of round1) await expect(tx).to.emit(sys.stakeManager, "Unlocked").withArgs(j.address, lockId, JUROR_LOCK);
      // Round 0 (the deciding round, WorkerFault) shares jurors' share and the appeal bond.
      const round0 = (await dm.getRound(disputeId, 0)).jurors;
      await expect(tx).to.emit(dm, "Credited").withArgs(round0[0], share + (pot - share * 3n));
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerFault);
      await expectConserved(sys, [disputeId], [1n]);
    });
  });

  describe("with a zero requester share", function () {
    it("credits nothing to the requester and still sums to the slashed amount", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await dm.setParams({ ...P, requesterBps: 0 });
      const { disputeId } = await ruled(sys, jobId, [FAULT, FAULT, FAULT]);
      await passAppeal(sys, disputeId);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const toJurors = (C * 2_000n) / BPS;
      const burned = (C * 3_000n) / BPS;
      const tx = dm.finalizeRuling(disputeId);
      await expect(tx).to.emit(dm, "WorkerConvicted").withArgs(jobId, disputeId, sys.challenger.address, C, C - toJurors - burned, toJurors, 0n, burned);
      const receipt = await (await tx).wait();
      const credited = receipt!.logs
        .map((l) => dm.interface.parseLog(l))
        .filter((e) => e?.name === "Credited" && e.args[0] === sys.requester.address);
      expect(credited).to.deep.equal([]);
      expect(await dm.credits(sys.requester.address)).to.equal(0n);
      await expectConserved(sys, [disputeId]);
    });
  });

  describe("when the staking token re-enters", function () {
    async function armedSystem() {
      const sys = await deployReentrantSystem();
      const jobId = await submittedJob(sys);
      const id = await openDispute(sys, jobId, 1);
      await time.increaseTo((await sys.disputeManager.getDispute(id)).deadline + 1n);
      await sys.disputeManager.timeoutPinpoint(id); // credits the worker replayCost
      return { sys, jobId };
    }
    const calls: [string, unknown[]][] = [
      ["openDispute", [1n, 1, SALT, { stateHash: ethers.ZeroHash, stepRoot: ethers.ZeroHash, proof: [] }, { stateHash: ethers.ZeroHash, stepRoot: ethers.ZeroHash, proof: [] }]],
      ["timeoutPinpoint", [1n]],
      ["challengeChunk", [1n, 0, ethers.ZeroHash, [], 0]],
      ["challengeBatchChunk", [1n, 0, ethers.ZeroHash, [], 0]],
      ["proveBoundaryMismatch", [1n, false, ethers.ZeroHash, []]],
      ["timeoutChunk", [1n]],
      ["drawCommittee", [1n]],
      ["resolve", [1n]],
      ["appeal", [1n]],
      ["finalizeRuling", [1n]],
      ["closeMoot", [1n]],
      ["withdraw", []],
    ];
    for (const [fn, args] of calls) {
      it(`${fn} is nonReentrant`, async function () {
        const { sys } = await loadFixture(armedSystem);
        const dm = sys.disputeManager;
        const iface: Interface = dm.interface;
        await sys.reentrant.arm(await dm.getAddress(), iface.encodeFunctionData(fn, args));
        await expect(dm.connect(sys.worker).withdraw()).to.be.revertedWithCustomError(dm, "ReentrancyGuardReentrantCall");
      });
    }
  });

  describe("withdraw", function () {
    it("pays out the caller's credits", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      await time.increaseTo((await sys.disputeManager.getDispute(id)).deadline + 1n);
      await sys.disputeManager.timeoutPinpoint(id);
      const tx = sys.disputeManager.connect(sys.worker).withdraw();
      await expect(tx).to.emit(sys.disputeManager, "Withdrawn").withArgs(sys.worker.address, REPLAY_COST);
      await expect(tx).to.changeTokenBalances(sys.stakeToken, [sys.worker, sys.disputeManager], [REPLAY_COST, -REPLAY_COST]);
      expect(await sys.disputeManager.credits(sys.worker.address)).to.equal(0n);
    });

    it("reverts with nothing to withdraw", async function () {
      const { disputeManager: dm, stranger } = await loadFixture(deploySystem);
      await expect(dm.connect(stranger).withdraw()).to.be.revertedWithCustomError(dm, "DisputeManagerNothingToWithdraw").withArgs(stranger.address);
    });
  });

  describe("views", function () {
    it("return empty records for unknown ids", async function () {
      const { disputeManager: dm, stranger } = await loadFixture(deploySystem);
      expect((await dm.getDispute(1n)).phase).to.equal(BigInt(Phase.None));
      expect((await dm.getRound(1n, 0)).jurors).to.deep.equal([]);
      expect((await dm.getVote(1n, 0, stranger.address)).drawn).to.equal(false);
      expect((await dm.getAppeal(1n, 0)).appellant).to.equal(ethers.ZeroAddress);
      expect((await dm.getChunkChallenge(1n)).status).to.equal(BigInt(Chunk.None));
    });
  });

  describe("when a challenger must outbid a juror who was also a party", function () {
    it("never draws the worker or the challenger even when they stake as jurors", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      await sys.stakeToken.mint(sys.challenger.address, 1_000n * E18);
      await sys.stakeToken.connect(sys.challenger).approve(await sys.stakeManager.getAddress(), 1_000n * E18);
      await sys.stakeManager.connect(sys.challenger).stake(1_000n * E18);
      const { disputeId } = await disputeWithCommittee(sys, jobId);
      const r = await sys.disputeManager.getRound(disputeId, 0);
      expect(r.jurors).not.to.include(sys.challenger.address);
      expect(r.jurors).not.to.include(sys.worker.address);
    });
  });
});

