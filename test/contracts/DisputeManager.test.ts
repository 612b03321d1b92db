import { expect } from "chai";
import { ethers } from "hardhat";
import type { Interface } from "ethers";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyUint } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import {
  DEFAULT_DA_PARAMS,
  DEFAULT_DISPUTE_PARAMS,
  E18,
  EMPTY_CHECKPOINT,
  K,
  SALT,
  challengeCommitment,
  commit,
  deployDisputeManager,
  deployReentrantSystem,
  deploySystem,
  disputeWithCommittee,
  drawCommittee,
  openCommitted,
  openDispute,
  pinpoint,
  stepClaim,
  stepRange,
  submittedJob,
  vote,
  voteCommitment,
  ruled,
  type System,
  emptyJuryPool,
  distinctSeats,
} from "../helpers/system";
import { checkpointProof } from "../helpers/trees";
import type { Hex } from "../helpers/merkle";
import type { IDisputeManager } from "../../typechain-types/contracts/DisputeManager";
import { JobStatus, Phase, Ruling } from "../../verifier/protocol/enums";

// Enum values of IDisputeManager / IDataAvailability.
const FAULT = Ruling.WorkerFault;
const HONEST = Ruling.WorkerHonest;
const INDET = 3;
const BPS = 10_000n;
const DEAD = "0x000000000000000000000000000000000000dEaD";
const P = DEFAULT_DISPUTE_PARAMS;
const DISPUTE_BOND = BigInt(P.disputeBond);
const COMMIT_BOND = BigInt(P.commitBond);
const APPEAL_BOND = BigInt(P.appealBond);
const JUROR_LOCK = BigInt(P.jurorLock);
const INCOHERENCE = BigInt(P.incoherencePenalty);
const REPLAY_COST = BigInt(P.replayCost);
const ANSWER_FEE = BigInt(DEFAULT_DA_PARAMS.answerFee);
const OPENER_FEE = BigInt(DEFAULT_DA_PARAMS.openerFee);
const LEAF_BOND = BigInt(DEFAULT_DA_PARAMS.leafBond);

async function systemWithJob() {
  const sys = await deploySystem();
  const jobId = await submittedJob(sys);
  return { sys, jobId };
}

async function passAppeal(sys: System, disputeId: bigint) {
  const d = await sys.disputeManager.getDispute(disputeId);
  await time.increaseTo(d.appealEnd + 1n);
}

function paramsArray(p: IDisputeManager.ParamsStruct) {
  return [
    p.disputeBond,
    p.commitBond,
    p.appealBond,
    p.jurorLock,
    p.incoherencePenalty,
    p.replayCost,
    p.challengerBps,
    p.jurorBps,
    p.requesterBps,
    p.bondJurorBps,
    p.committeeSize,
    p.quorum,
    p.maxRounds,
    p.maxAppeals,
    p.randomnessDelay,
    p.revealWindow,
    p.appealWindow,
    p.commitTTL,
    p.maxExtension,
    p.maxDrawWait,
  ].map((v) => BigInt(v));
}

/** Conservation: the manager holds exactly the live bonds, pots, appeal bonds, commit bonds and credits. */
async function expectConserved(sys: System, disputeIds: bigint[]) {
  const dm = sys.disputeManager;
  let owed = await dm.commitBondsHeld();
  for (const id of disputeIds) {
    const d = await dm.getDispute(id);
    owed += d.bond + d.jurorPot;
    for (let a = d.appealsSettled; a < d.appeals; a++) owed += (await dm.getAppeal(id, a)).bond;
  }
  const accounts = new Set([
    sys.worker.address,
    sys.challenger.address,
    sys.challenger2.address,
    sys.stranger.address,
    sys.requester.address,
    ...sys.jurors.map((j) => j.address),
  ]);
  for (const a of accounts) owed += await dm.credits(a);
  expect(await sys.stakeToken.balanceOf(await dm.getAddress())).to.equal(owed);
}

/** The slash split of the default parameters for collateral `c`. */
function split(c: bigint) {
  const toJurors = (c * BigInt(P.jurorBps)) / BPS;
  const toRequester = (c * BigInt(P.requesterBps)) / BPS;
  const burned = (c * (BPS - BigInt(P.challengerBps) - BigInt(P.jurorBps) - BigInt(P.requesterBps))) / BPS;
  return { toChallenger: c - toJurors - toRequester - burned, toJurors, toRequester, burned };
}

describe("DisputeManager", function () {
  describe("when deployed", function () {
    it("wires the staking token, the modules, the DataAvailability and the parameters", async function () {
      const sys = await loadFixture(deploySystem);
      const dm = sys.disputeManager;
      expect(await dm.stakingToken()).to.equal(await sys.stakeToken.getAddress());
      expect(await dm.stakeManager()).to.equal(await sys.stakeManager.getAddress());
      expect(await dm.jobMarket()).to.equal(await sys.jobMarket.getAddress());
      expect(await dm.randomness()).to.equal(await sys.randomness.getAddress());
      expect(await dm.dataAvailability()).to.equal(await sys.dataAvailability.getAddress());
      expect(await dm.MAX_PINPOINTS()).to.equal(3n);
      expect(paramsArray(await dm.params())).to.deep.equal(paramsArray(P));
      expect(await sys.dataAvailability.disputeManager()).to.equal(await dm.getAddress());
    });

    it("emits ParamsUpdated from the constructor and refuses zero addresses", async function () {
      const sys = await loadFixture(deploySystem);
      const args = [await sys.stakeManager.getAddress(), await sys.jobMarket.getAddress(), await sys.randomness.getAddress()] as const;
      const da = await sys.dataAvailability.getAddress();
      const { disputeManager } = await deployDisputeManager(...args, da, sys.admin.address);
      await expect(disputeManager.deploymentTransaction()).to.emit(disputeManager, "ParamsUpdated").withArgs(paramsArray(P));
      await expect(deployDisputeManager(...args, ethers.ZeroAddress, sys.admin.address)).to.be.revertedWithCustomError(
        sys.disputeManager,
        "DisputeManagerZeroAddress",
      );
      await expect(deployDisputeManager(...args, da, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        sys.disputeManager,
        "DisputeManagerZeroAddress",
      );
    });

    it("derives juror lock ids from manager, dispute and round", async function () {
      const sys = await loadFixture(deploySystem);
      const dm = sys.disputeManager;
      const expected = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256", "uint256"], [await dm.getAddress(), 7, 2]),
      );
      expect(await dm.jurorLockId(7, 2)).to.equal(expected);
    });
  });

  describe("setParams", function () {
    it("replaces the parameters and emits ParamsUpdated", async function () {
      const sys = await loadFixture(deploySystem);
      const next = { ...P, disputeBond: 200n * E18, commitTTL: 7_200 };
      await expect(sys.disputeManager.setParams(next)).to.emit(sys.disputeManager, "ParamsUpdated").withArgs(paramsArray(next));
      expect((await sys.disputeManager.params()).commitTTL).to.equal(7_200n);
    });

    it("reverts for a non-governor", async function () {
      const sys = await loadFixture(deploySystem);
      await expect(sys.disputeManager.connect(sys.stranger).setParams(P)).to.be.revertedWithCustomError(
        sys.disputeManager,
        "AccessControlUnauthorizedAccount",
      );
    });

    const DAY30 = 30 * 86_400;
    const bad: [string, Partial<IDisputeManager.ParamsStruct>][] = [
      ["disputeBond", { disputeBond: 0 }],
      ["commitBond", { commitBond: 0 }],
      // A commitment keeps its bond in 96 bits (issue 17): a larger bond would be stored truncated.
      ["commitBond", { commitBond: 2n ** 96n }],
      ["appealBond", { appealBond: 0 }],
      ["jurorLock", { jurorLock: 0 }],
      ["incoherencePenalty", { incoherencePenalty: JUROR_LOCK + 1n }],
      ["replayCost", { replayCost: DISPUTE_BOND }],
      ["slashBps", { challengerBps: 5_000, jurorBps: 3_000, requesterBps: 2_001 }],
      ["bondJurorBps", { bondJurorBps: 10_001 }],
      ["quorum", { quorum: 0 }],
      ["quorum", { quorum: 4 }],
      ["maxRounds", { maxRounds: 0 }],
      ["maxRounds", { maxRounds: 5 }],
      ["maxAppeals", { maxAppeals: 4 }],
      ["committeeSize", { committeeSize: 9, quorum: 5, maxRounds: 2, maxAppeals: 2 }],
      ["randomnessDelay", { randomnessDelay: 0 }],
      ["randomnessDelay", { randomnessDelay: 257 }],
      ["revealWindow", { revealWindow: 59 }],
      ["revealWindow", { revealWindow: DAY30 + 1 }],
      ["appealWindow", { appealWindow: 59 }],
      ["appealWindow", { appealWindow: DAY30 + 1 }],
      ["commitTTL", { commitTTL: 59 }],
      ["commitTTL", { commitTTL: DAY30 + 1 }],
      ["maxExtension", { maxExtension: DAY30 + 1 }],
      ["maxDrawWait", { maxDrawWait: 59 }],
      ["maxDrawWait", { maxDrawWait: DAY30 + 1 }],
    ];
    for (const [field, override] of bad) {
      it(`names the field: DisputeManagerInvalidParam("${field}") for ${JSON.stringify(override, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`, async function () {
        const sys = await loadFixture(deploySystem);
        await expect(sys.disputeManager.setParams({ ...P, ...override }))
          .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerInvalidParam")
          .withArgs(field);
      });
    }

    it("accepts the bounds themselves (and a committee that reaches exactly 64 is not allowed past it)", async function () {
      const sys = await loadFixture(deploySystem);
      const edge = {
        ...P,
        incoherencePenalty: JUROR_LOCK,
        replayCost: DISPUTE_BOND - 1n,
        challengerBps: 6_000,
        jurorBps: 2_000,
        requesterBps: 2_000,
        bondJurorBps: 10_000,
        quorum: 3,
        maxRounds: 4,
        maxAppeals: 0,
        randomnessDelay: 256,
        revealWindow: 60,
        appealWindow: DAY30,
        commitTTL: 60,
        maxExtension: 0,
        maxDrawWait: 60,
      };
      await expect(sys.disputeManager.setParams(edge)).to.emit(sys.disputeManager, "ParamsUpdated");
      // M=3 with 3 escalations + 1 appeal: 3 → 7 → 15 → 31 → 63 ≤ 64.
      await expect(sys.disputeManager.setParams({ ...P, maxRounds: 4, maxAppeals: 1 })).to.emit(sys.disputeManager, "ParamsUpdated");
      await expect(sys.disputeManager.setParams({ ...P, maxRounds: 4, maxAppeals: 2 }))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerInvalidParam")
        .withArgs("committeeSize");
    });
  });

  describe("checkJobTerms (V6.2, V2.4)", function () {
    it("accepts covered terms and names the violated bound", async function () {
      const sys = await loadFixture(deploySystem);
      const dm = sys.disputeManager;
      const seats = BigInt(P.committeeSize) - BigInt(P.quorum) + 1n;
      await dm.checkJobTerms(JUROR_LOCK * seats, 86_400, 3_600, 3_600);
      await expect(dm.checkJobTerms(JUROR_LOCK * seats + 1n, 86_400, 3_600, 3_600))
        .to.be.revertedWithCustomError(dm, "DisputeManagerJurorLockTooLow")
        .withArgs(JUROR_LOCK, JUROR_LOCK + 1n);
      // window 3600: commitments squat it for 25 STK; disputes for 80·3600/10800 = 26.67: min 25 < 50.
      await expect(dm.checkJobTerms(100n * E18, 3_600, 3_600, 3_600))
        .to.be.revertedWithCustomError(dm, "DisputeManagerSquattingTooCheap")
        .withArgs(COMMIT_BOND, 50n * E18);
      // the dispute bound can be the smaller one: long answer timeouts
      const byDisputes = ((DISPUTE_BOND - REPLAY_COST) * 86_400n) / (3n * 86_400n);
      await expect(dm.checkJobTerms(100n * E18, 86_400, 86_400, 86_400))
        .to.be.revertedWithCustomError(dm, "DisputeManagerSquattingTooCheap")
        .withArgs(byDisputes, 50n * E18);
    });
  });

  describe("commitments (V2.1)", function () {
    it("commitChallenge pulls commitBond, orders globally and emits ChallengeCommitted", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const c1 = challengeCommitment(jobId, 1, sys.challenger.address, SALT);
      const tx = dm.connect(sys.challenger).commitChallenge(c1);
      await expect(tx).to.emit(dm, "ChallengeCommitted").withArgs(c1, sys.challenger.address, 1n, COMMIT_BOND);
      await expect(tx).to.changeTokenBalances(sys.stakeToken, [sys.challenger, dm], [-COMMIT_BOND, COMMIT_BOND]);
      const c2 = challengeCommitment(jobId, 1, sys.challenger2.address, SALT);
      await expect(dm.connect(sys.challenger2).commitChallenge(c2))
        .to.emit(dm, "ChallengeCommitted")
        .withArgs(c2, sys.challenger2.address, 2n, COMMIT_BOND);
      expect(await dm.commitmentCount()).to.equal(2n);
      expect(await dm.commitBondsHeld()).to.equal(2n * COMMIT_BOND);
      const stored = await dm.getCommitment(c1);
      expect(stored.challenger).to.equal(sys.challenger.address);
      expect(stored.order).to.equal(1n);
      expect(stored.bond).to.equal(COMMIT_BOND);
      await expect(dm.connect(sys.stranger).commitChallenge(c1))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentExists")
        .withArgs(c1);
    });

    it("expireCommitment burns an unused commitment after commitTTL; anyone may call", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const unknown = ethers.id("nothing");
      await expect(dm.expireCommitment(unknown)).to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentNotFound").withArgs(unknown);
      const c = await commit(sys, jobId, 1);
      const at = (await dm.getCommitment(c)).committedAt;
      await expect(dm.connect(sys.stranger).expireCommitment(c))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentNotExpired")
        .withArgs(c, at + BigInt(P.commitTTL));
      await time.increaseTo(at + BigInt(P.commitTTL) + 1n);
      const tx = dm.connect(sys.stranger).expireCommitment(c);
      await expect(tx).to.emit(dm, "CommitmentExpired").withArgs(c, COMMIT_BOND);
      await expect(tx).to.changeTokenBalances(sys.stakeToken, [dm, DEAD], [-COMMIT_BOND, COMMIT_BOND]);
      expect(await dm.commitBondsHeld()).to.equal(0n);
      await expect(dm.expireCommitment(c)).to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentNotFound");
      // an expired commitment cannot open a dispute either
      await expect(openCommitted(sys, jobId, 1))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCommitmentExpired")
        .withArgs(c, at + BigInt(P.commitTTL));
    });

    it("a commitment not yet burned but past its TTL no longer opens", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const c = await commit(sys, jobId, 1);
      const at = (await sys.disputeManager.getCommitment(c)).committedAt;
      await time.increaseTo(at + BigInt(P.commitTTL) + 1n);
      await expect(openCommitted(sys, jobId, 1)).to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerCommitmentExpired");
    });

    it("counts only when mined after the submission block (front-running the submission gains nothing)", async function () {
      const sys = await loadFixture(deploySystem);
      const jobId = await sys.jobMarket.nextJobId();
      const c = await commit(sys, jobId, 1); // before the job even exists
      await submittedJob(sys);
      const job = await sys.jobMarket.getJob(jobId);
      const cb = (await sys.disputeManager.getCommitment(c)).committedBlock;
      await expect(openCommitted(sys, jobId, 1))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerCommitmentBeforeSubmission")
        .withArgs(c, cb, job.submittedBlock);
    });

    it("counts only when mined by windowEnd", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      await sys.disputeManager.setParams({ ...P, commitTTL: 30 * 86_400 });
      const job = await sys.jobMarket.getJob(jobId);
      await time.setNextBlockTimestamp(job.windowEnd + 1n);
      await commit(sys, jobId, 1);
      // window over anyway: the job is no longer disputable
      await expect(openCommitted(sys, jobId, 1))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerJobNotDisputable")
        .withArgs(jobId);
    });

    it("must be at least one block old", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        await dm
          .connect(sys.challenger)
          .commitChallenge(challengeCommitment(jobId, 1, sys.challenger.address, SALT), { gasLimit: 500_000 });
        const open = await dm
          .connect(sys.challenger)
          .openDispute(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2), 0, { gasLimit: 3_000_000 });
        await mine(1);
        expect((await ethers.provider.getTransactionReceipt(open.hash))!.status).to.equal(0);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      expect(await dm.disputeCount()).to.equal(0n);
    });
  });

  describe("openDispute", function () {
    it("takes the bond, refunds the commit bond, stores the checkpoint leaves and emits DisputeOpened", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await commit(sys, jobId, 1);
      const terms = await sys.jobMarket.jobTerms(jobId);
      const ts = BigInt(await time.latest()) + 1n;
      const tx = dm.connect(sys.challenger).openDispute(jobId, 1, SALT, checkpointProof(sys.traj, 1), checkpointProof(sys.traj, 2), 0);
      const deadline = ts + 2n * terms.answerTimeout + terms.pinpointTimeout;
      await expect(tx).to.emit(dm, "DisputeOpened").withArgs(1n, jobId, 1, sys.challenger.address, DISPUTE_BOND, anyUint);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, COMMIT_BOND);
      await expect(tx).to.emit(sys.jobMarket, "JobDisputeOpened").withArgs(jobId, 1);
      await expect(tx).to.emit(sys.dataAvailability, "CheckpointProven").withArgs(jobId, 1, sys.traj.stateHashes[K], sys.traj.stepRoots[1]);
      await expect(tx).to.changeTokenBalance(sys.stakeToken, sys.challenger, -DISPUTE_BOND);
      const d = await dm.getDispute(1n);
      expect(d.phase).to.equal(Phase.Pinpointing);
      expect(d.order).to.equal(1n);
      expect(d.checkpointDemand).to.equal(0n);
      expect(d.deadline).to.be.closeTo(deadline, 2n);
      expect(await dm.pinpointDeadline(1n)).to.equal(d.deadline);
      expect(await dm.disputeOf(jobId, 1, sys.challenger.address)).to.equal(1n);
      expect(await dm.liveDisputes(jobId)).to.equal(1n);
      expect(await dm.bountyDispute(jobId)).to.equal(1n);
      expect(await dm.commitBondsHeld()).to.equal(0n);
      expect((await sys.dataAvailability.checkpointLeaf(jobId, 2)).known).to.equal(true);
      await expectConserved(sys, [1n]);
    });

    it("reverts for an unknown commitment (wrong salt or another sender)", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      await commit(sys, jobId, 1);
      await expect(openCommitted(sys, jobId, 1, { salt: ethers.id("other") as Hex })).to.be.revertedWithCustomError(
        sys.disputeManager,
        "DisputeManagerCommitmentNotFound",
      );
      await expect(openCommitted(sys, jobId, 1, { challenger: sys.challenger2 })).to.be.revertedWithCustomError(
        sys.disputeManager,
        "DisputeManagerCommitmentNotFound",
      );
    });

    it("reverts when the job is not submitted, after the window, or for the last checkpoint", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await commit(sys, 99n, 1);
      await expect(openCommitted(sys, 99n, 1))
        .to.be.revertedWithCustomError(dm, "DisputeManagerJobNotDisputable")
        .withArgs(99n);
      const last = sys.traj.checkpointLeaves.length - 1;
      await commit(sys, jobId, last);
      await expect(
        dm.connect(sys.challenger).openDispute(jobId, last, SALT, checkpointProof(sys.traj, last - 1), checkpointProof(sys.traj, last), 0),
      )
        .to.be.revertedWithCustomError(dm, "DisputeManagerInvalidInterval")
        .withArgs(jobId, last);
      await commit(sys, jobId, 1);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await expect(openCommitted(sys, jobId, 1))
        .to.be.revertedWithCustomError(dm, "DisputeManagerJobNotDisputable")
        .withArgs(jobId);
    });

    it("reverts when a checkpoint leaf does not prove", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      await commit(sys, jobId, 1);
      const bad = { ...checkpointProof(sys.traj, 1), stepRoot: ethers.ZeroHash };
      await expect(sys.disputeManager.connect(sys.challenger).openDispute(jobId, 1, SALT, bad, checkpointProof(sys.traj, 2), 0))
        .to.be.revertedWithCustomError(sys.dataAvailability, "DataAvailabilityInvalidProof")
        .withArgs(jobId);
    });

    describe("when the interval is already disputed (V2.2)", function () {
      it("runs one dispute per challenger, each on its own deadline, ordered by commitment", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const dm = sys.disputeManager;
        // challenger2 commits first but opens second: it is still first in the queue
        await commit(sys, jobId, 1, sys.challenger2);
        await commit(sys, jobId, 1, sys.challenger);
        const a = await openCommitted(sys, jobId, 1);
        const b = await openCommitted(sys, jobId, 1, { challenger: sys.challenger2, hint: a });
        expect(await dm.liveDisputes(jobId)).to.equal(2n);
        expect(await dm.bountyDispute(jobId)).to.equal(b);
        expect((await dm.getDispute(b)).next).to.equal(a);
        expect((await dm.getDispute(a)).prev).to.equal(b);
        // a second dispute of the same challenger on the interval is refused
        const salt2 = ethers.id("salt2") as Hex;
        await commit(sys, jobId, 1, sys.challenger, salt2);
        await expect(openCommitted(sys, jobId, 1, { salt: salt2 }))
          .to.be.revertedWithCustomError(dm, "DisputeManagerAlreadyDisputing")
          .withArgs(jobId, 1, sys.challenger.address, a);
        // ...but another interval is fine, and a hint of another job or a later dispute is ignored
        await commit(sys, jobId, 2, sys.challenger, salt2);
        const c = await openCommitted(sys, jobId, 2, { salt: salt2, hint: 999n });
        expect((await dm.getDispute(a)).next).to.equal(c);
        expect(await dm.liveDisputes(jobId)).to.equal(3n);
        await expectConserved(sys, [a, b, c]);
      });

      it("inserts into the middle of the queue from a good hint", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const dm = sys.disputeManager;
        const s = (n: number) => ethers.id(`s${n}`) as Hex;
        await commit(sys, jobId, 0, sys.challenger, s(1));
        await commit(sys, jobId, 1, sys.challenger, s(2));
        await commit(sys, jobId, 2, sys.challenger, s(3));
        const first = await openCommitted(sys, jobId, 0, { salt: s(1) });
        const third = await openCommitted(sys, jobId, 2, { salt: s(3) });
        const second = await openCommitted(sys, jobId, 1, { salt: s(2), hint: first });
        expect((await dm.getDispute(first)).next).to.equal(second);
        expect((await dm.getDispute(second)).next).to.equal(third);
        expect((await dm.getDispute(third)).prev).to.equal(second);
      });
    });

    describe("without checkpoint proofs (V1.1)", function () {
      it("opens a Checkpoints demand the worker must answer; the answer stores the leaves", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const dm = sys.disputeManager;
        const da = sys.dataAvailability;
        await commit(sys, jobId, 1);
        const tx = dm.connect(sys.challenger).openDispute(jobId, 1, SALT, EMPTY_CHECKPOINT, EMPTY_CHECKPOINT, 0);
        await expect(tx)
          .to.emit(da, "ChallengeOpened")
          .withArgs(1n, jobId, 1n, sys.challenger.address, 1, 1, 0, 0, ethers.ZeroHash, anyUint);
        const d = await dm.getDispute(1n);
        expect(d.checkpointDemand).to.equal(1n);
        // pinpointing needs the leaves
        await expect(pinpoint(sys, 1n, 0))
          .to.be.revertedWithCustomError(dm, "DisputeManagerCheckpointsUnknown")
          .withArgs(1n);
        const a = checkpointProof(sys.traj, 1);
        const b = checkpointProof(sys.traj, 2);
        await expect(da.connect(sys.stranger).answerCheckpoints(1n, a.stateHash, a.stepRoot, a.proof, b.stateHash, b.stepRoot, b.proof))
          .to.emit(da, "ChallengeAnswered")
          .withArgs(1n, sys.stranger.address);
        await pinpoint(sys, 1n, 0);
        expect((await dm.getDispute(1n)).phase).to.equal(Phase.AwaitingDraw);
      });

      it("needs no demand once the leaves are stored", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        await openDispute(sys, jobId, 1);
        await commit(sys, jobId, 1, sys.challenger2);
        const id = await openCommitted(sys, jobId, 1, { challenger: sys.challenger2, withoutProofs: true });
        expect((await sys.disputeManager.getDispute(id)).checkpointDemand).to.equal(0n);
        expect(await sys.dataAvailability.challengeCount()).to.equal(0n);
      });

      it("convicts a worker who does not post the leaves; the bounty goes to the challenger", async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const dm = sys.disputeManager;
        await commit(sys, jobId, 1);
        await openCommitted(sys, jobId, 1, { withoutProofs: true });
        const c = await sys.dataAvailability.getChallenge(1n);
        await time.increaseTo(c.deadline + 1n);
        const C = (await sys.jobMarket.getJob(jobId)).collateral;
        const s = split(C);
        const tx = sys.dataAvailability.timeoutChallenge(1n);
        await expect(tx).to.emit(sys.dataAvailability, "ChallengeTimedOut").withArgs(1n, true);
        await expect(tx)
          .to.emit(dm, "WorkerConvicted")
          .withArgs(jobId, 1n, sys.challenger.address, C, s.toChallenger, s.toJurors, s.toRequester, s.burned);
        await expect(tx).to.emit(dm, "DisputeClosed").withArgs(1n, jobId, Ruling.WorkerFault);
        // the opener is the beneficiary: no separate opener fee; the bond comes back
        expect(await dm.credits(sys.challenger.address)).to.equal(COMMIT_BOND + s.toChallenger + DISPUTE_BOND);
        expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
        await expectConserved(sys, [1n]);
      });
    });
  });

  describe("pinpoint", function () {
    it("names the step, sets the randomness block and emits StepPinpointed", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      const a = stepClaim(sys, 1, 1);
      const b = stepClaim(sys, 1, 2);
      const tx = await sys.disputeManager.connect(sys.challenger).pinpoint(id, 1, a, b);
      const block = BigInt((await tx.wait())!.blockNumber);
      await expect(tx)
        .to.emit(sys.disputeManager, "StepPinpointed")
        .withArgs(id, K + 1, a.stateHash, b.stateHash, block + BigInt(P.randomnessDelay));
      const d = await sys.disputeManager.getDispute(id);
      expect(d.phase).to.equal(Phase.AwaitingDraw);
      expect(d.step).to.equal(BigInt(K + 1));
      expect(d.pinpoints).to.equal(1n);
    });

    it("accepts stored step leaves with empty proofs", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      const r = stepRange(sys.traj, 1, 0, 2);
      await sys.dataAvailability.proveStepLeaves(jobId, 1, 0, r.stateHashes, r.proof);
      await sys.disputeManager.connect(sys.challenger).pinpoint(id, 0, stepClaim(sys, 1, 0, true), stepClaim(sys, 1, 1, true));
      expect((await sys.disputeManager.getDispute(id)).phase).to.equal(Phase.AwaitingDraw);
    });

    it("reverts in the wrong phase, for anyone but the challenger, after the deadline, outside 0..k-1, or on a bad leaf", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const a = stepClaim(sys, 1, 0);
      const b = stepClaim(sys, 1, 1);
      await expect(dm.connect(sys.challenger).pinpoint(5n, 0, a, b))
        .to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase")
        .withArgs(5n, Phase.None);
      const id = await openDispute(sys, jobId, 1);
      await expect(dm.connect(sys.stranger).pinpoint(id, 0, a, b))
        .to.be.revertedWithCustomError(dm, "DisputeManagerNotChallenger")
        .withArgs(id, sys.stranger.address);
      await expect(dm.connect(sys.challenger).pinpoint(id, K, a, b))
        .to.be.revertedWithCustomError(dm, "DisputeManagerInvalidStep")
        .withArgs(id, K);
      await expect(dm.connect(sys.challenger).pinpoint(id, 0, b, b)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidProof");
      await expect(dm.connect(sys.challenger).pinpoint(id, 0, a, a)).to.be.revertedWithCustomError(dm, "DisputeManagerInvalidProof");
      // an empty proof for a leaf nobody stored
      await expect(dm.connect(sys.challenger).pinpoint(id, 0, stepClaim(sys, 1, 0, true), b)).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerInvalidProof",
      );
      const deadline = await dm.pinpointDeadline(id);
      await time.increaseTo(deadline + 1n);
      await expect(dm.connect(sys.challenger).pinpoint(id, 0, a, b))
        .to.be.revertedWithCustomError(dm, "DisputeManagerDeadlinePassed")
        .withArgs(id, deadline);
    });

    it("answers to the dispute's own challenges extend its deadline to lastAnswerAt + pinpointTimeout", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const da = sys.dataAvailability;
      const id = await openDispute(sys, jobId, 1);
      const own = (await dm.getDispute(id)).deadline;
      await time.increaseTo(own - 100n);
      await da.connect(sys.challenger).demandStepLeaves(jobId, id, 1, 0, 2);
      const r = stepRange(sys.traj, 1, 0, 2);
      await da.connect(sys.worker).answerStepLeaves(1n, r.stateHashes, r.proof);
      const answeredAt = BigInt(await time.latest());
      const terms = await sys.jobMarket.jobTerms(jobId);
      expect(await dm.pinpointDeadline(id)).to.equal(answeredAt + terms.pinpointTimeout);
      await time.increaseTo(own + 10n);
      await sys.disputeManager.connect(sys.challenger).pinpoint(id, 0, stepClaim(sys, 1, 0, true), stepClaim(sys, 1, 1, true));
    });
  });

  describe("timeoutPinpoint (V2.5)", function () {
    it("burns a silent challenger's bond; nothing to the requester nor replayCost; the job finalizes", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const id = await openDispute(sys, jobId, 1);
      await expect(dm.timeoutPinpoint(id)).to.be.revertedWithCustomError(dm, "DisputeManagerDeadlineNotPassed");
      await time.increaseTo((await dm.pinpointDeadline(id)) + 1n);
      expect(await dm.bountyDispute(jobId)).to.equal(0n); // missed its deadline: no longer the beneficiary
      const tx = dm.connect(sys.stranger).timeoutPinpoint(id);
      await expect(tx).to.emit(dm, "BondForfeited").withArgs(id, 0n, 0n, DISPUTE_BOND);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(id, jobId, Ruling.ChallengerTimedOut);
      await expect(tx).to.changeTokenBalance(sys.stakeToken, DEAD, DISPUTE_BOND);
      await expect(tx).not.to.emit(dm, "Credited");
      await expect(dm.timeoutPinpoint(id)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase").withArgs(id, Phase.Closed);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await expect(sys.jobMarket.finalize(jobId)).to.emit(sys.jobMarket, "JobFinalized");
      await expectConserved(sys, [id]);
    });

    it("pays the worker answerFee when it had to post the checkpoint leaves", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await commit(sys, jobId, 1);
      const id = await openCommitted(sys, jobId, 1, { withoutProofs: true });
      const a = checkpointProof(sys.traj, 1);
      const b = checkpointProof(sys.traj, 2);
      await sys.dataAvailability
        .connect(sys.worker)
        .answerCheckpoints(1n, a.stateHash, a.stepRoot, a.proof, b.stateHash, b.stepRoot, b.proof);
      await time.increaseTo((await dm.pinpointDeadline(id)) + 1n);
      const tx = dm.timeoutPinpoint(id);
      await expect(tx)
        .to.emit(dm, "BondForfeited")
        .withArgs(id, ANSWER_FEE, 0n, DISPUTE_BOND - ANSWER_FEE);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.worker.address, ANSWER_FEE);
    });

    it("waits while one of the dispute's challenges is open", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const id = await openDispute(sys, jobId, 1);
      await time.increaseTo((await dm.getDispute(id)).deadline - 10n);
      await sys.dataAvailability.connect(sys.challenger).demandStepLeaves(jobId, id, 1, 0, 1);
      await time.increaseTo((await dm.getDispute(id)).deadline + 1n);
      await expect(dm.timeoutPinpoint(id)).to.be.revertedWithCustomError(dm, "DisputeManagerChallengesOpen").withArgs(id, 1n);
      // an open challenge keeps the dispute eligible for the bounty
      expect(await dm.bountyDispute(jobId)).to.equal(id);
    });
  });

  describe("drawCommittee", function () {
    it("draws M jurors (never worker or challenger), locks them and opens the commit window", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const id = await openDispute(sys, jobId, 1);
      await pinpoint(sys, id, 0);
      const d = await dm.getDispute(id);
      await mine(Number(d.randomnessBlock - BigInt(await ethers.provider.getBlockNumber())) + 1);
      const tx = await dm.drawCommittee(id);
      const r = await dm.getRound(id, 0);
      const commitEnd =
        BigInt((await ethers.provider.getBlock((await tx.wait())!.blockNumber))!.timestamp) +
        (await sys.jobMarket.jobTerms(jobId)).revealTimeout;
      await expect(tx)
        .to.emit(dm, "CommitteeDrawn")
        .withArgs(id, 0, r.jurors, 2, commitEnd, commitEnd + BigInt(P.revealWindow));
      // M = 3 seats with replacement: one to three distinct jurors, each locking jurorLock per seat.
      expect(r.seats).to.equal(3n);
      expect(r.jurors.length).to.be.within(1, 3);
      expect(r.jurors).to.not.include(sys.worker.address);
      expect(r.jurors).to.not.include(sys.challenger.address);
      let seats = 0n;
      for (const j of r.jurors) {
        const n = (await dm.getVote(id, 0, j)).seats;
        seats += n;
        expect(await sys.stakeManager.lockedAmount(j, await dm.jurorLockId(id, 0))).to.equal(n * JUROR_LOCK);
        expect(await dm.isChallengeParty(jobId, id, j)).to.equal(true);
      }
      expect(seats).to.equal(3n);
      expect(await dm.isChallengeParty(jobId, id, sys.challenger.address)).to.equal(true);
      expect(await dm.isChallengeParty(jobId, id, sys.stranger.address)).to.equal(false);
      expect(await dm.isChallengeParty(jobId + 1n, id, sys.challenger.address)).to.equal(false);
      expect(await dm.isChallengeParty(jobId, 99n, sys.challenger.address)).to.equal(false);
    });

    it("reverts before the randomness block is mined, in the wrong phase; re-targets an expired block", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const id = await openDispute(sys, jobId, 1);
      await expect(dm.drawCommittee(id)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase").withArgs(id, Phase.Pinpointing);
      await pinpoint(sys, id, 0);
      const d = await dm.getDispute(id);
      await expect(dm.drawCommittee(id))
        .to.be.revertedWithCustomError(dm, "DisputeManagerRandomnessNotReady")
        .withArgs(id, d.randomnessBlock);
      await mine(300);
      const next = BigInt(await ethers.provider.getBlockNumber()) + 1n + BigInt(P.randomnessDelay);
      await expect(dm.drawCommittee(id)).to.emit(dm, "RandomnessRetargeted").withArgs(id, next);
    });

    it("retries while nobody can be drawn, then voids after maxDrawWait and refunds the interval (V5.2)", async function () {
      const { sys } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      // Every juror leaves; from the next epoch on the pool is empty. Then a fresh job is disputed.
      await emptyJuryPool(sys);
      const jobId = await submittedJob(sys);
      const id = await openDispute(sys, jobId, 1);
      await pinpoint(sys, id, 0);
      const d = await dm.getDispute(id);
      await mine(3);
      await expect(dm.drawCommittee(id)).to.emit(dm, "RandomnessRetargeted");
      expect((await dm.getDispute(id)).phase).to.equal(Phase.AwaitingDraw);
      await time.increaseTo(d.drawSince + BigInt(P.maxDrawWait));
      await mine(3);
      const job = await sys.jobMarket.getJob(jobId);
      const share = job.reward / BigInt(sys.traj.checkpointLeaves.length - 1);
      const tx = dm.drawCommittee(id);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expect(tx)
        .to.emit(sys.jobMarket, "IntervalRefunded")
        .withArgs(jobId, share, job.reward - share);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(id, jobId, Ruling.Void);
      expect(await dm.intervalRefunded(jobId, 1)).to.equal(true);
      // the commitment expired long before windowEnd: a reopening is possible only until windowEnd (V2.3)
      expect(await dm.reopenHold(jobId)).to.equal(job.windowEnd);
      if (BigInt(await time.latest()) <= job.windowEnd) await time.increaseTo(job.windowEnd + 1n);
      await expect(sys.jobMarket.finalize(jobId))
        .to.emit(sys.jobMarket, "JobFinalized")
        .withArgs(jobId, sys.worker.address, job.reward - share);
      await expectConserved(sys, [id]);
    });
  });

  describe("voting", function () {
    async function withCommittee() {
      const { sys, jobId } = await systemWithJob();
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      return { sys, jobId, disputeId, jurors };
    }

    it("commitVote records the commitment; reverts for a zero commitment, a non-juror, a second commit, after the window", async function () {
      const { sys, disputeId, jurors } = await loadFixture(withCommittee);
      const dm = sys.disputeManager;
      const salt = ethers.id("s") as Hex;
      const c = voteCommitment(disputeId, 0, jurors[0].address, FAULT, salt);
      await expect(dm.connect(jurors[0]).commitVote(disputeId, ethers.ZeroHash))
        .to.be.revertedWithCustomError(dm, "DisputeManagerZeroCommitment")
        .withArgs(disputeId);
      await expect(dm.connect(jurors[0]).commitVote(disputeId, c)).to.emit(dm, "VoteCommitted").withArgs(disputeId, 0, jurors[0].address);
      // Kept as its first 30 bytes, one slot with the seats (issue 17).
      expect((await dm.getVote(disputeId, 0, jurors[0].address)).commitment).to.equal(c.slice(0, 62));
      // A commitment counts every seat its juror holds.
      expect((await dm.getRound(disputeId, 0)).commits).to.equal((await dm.getVote(disputeId, 0, jurors[0].address)).seats);
      await expect(dm.connect(jurors[0]).commitVote(disputeId, c)).to.be.revertedWithCustomError(dm, "DisputeManagerAlreadyCommitted");
      await expect(dm.connect(sys.stranger).commitVote(disputeId, c)).to.be.revertedWithCustomError(dm, "DisputeManagerNotJuror");
      await expect(dm.connect(jurors[0]).revealVote(disputeId, FAULT, salt)).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerRevealNotOpen",
      );
      const [commitEnd] = await dm.votingWindows(disputeId);
      await time.increaseTo(commitEnd + 1n);
      await expect(dm.connect(jurors[jurors.length - 1]).commitVote(disputeId, c))
        .to.be.revertedWithCustomError(dm, "DisputeManagerDeadlinePassed")
        .withArgs(disputeId, commitEnd);
      await expect(dm.connect(jurors[0]).revealVote(disputeId, FAULT, salt))
        .to.emit(dm, "VoteRevealed")
        .withArgs(disputeId, 0, jurors[0].address, FAULT);
    });

    it("revealVote reverts for an invalid vote, a mismatch, a second reveal, or after the window", async function () {
      const { sys, disputeId, jurors } = await loadFixture(withCommittee);
      const dm = sys.disputeManager;
      const salt = ethers.id("s") as Hex;
      for (const [j] of distinctSeats(jurors))
        await dm.connect(j).commitVote(disputeId, voteCommitment(disputeId, 0, j.address, HONEST, salt));
      // every seat committed: the reveal opens early
      await expect(dm.connect(jurors[0]).revealVote(disputeId, 0, salt))
        .to.be.revertedWithCustomError(dm, "DisputeManagerInvalidVote")
        .withArgs(0);
      await expect(dm.connect(jurors[0]).revealVote(disputeId, 4, salt))
        .to.be.revertedWithCustomError(dm, "DisputeManagerInvalidVote")
        .withArgs(4);
      await expect(dm.connect(jurors[0]).revealVote(disputeId, FAULT, salt)).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerCommitmentMismatch",
      );
      await dm.connect(jurors[0]).revealVote(disputeId, HONEST, salt);
      await expect(dm.connect(jurors[0]).revealVote(disputeId, HONEST, salt)).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerCommitmentMismatch",
      );
      await expect(dm.connect(sys.stranger).revealVote(disputeId, HONEST, salt)).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerCommitmentMismatch",
      );
      const [, revealEnd] = await dm.votingWindows(disputeId);
      await time.increaseTo(revealEnd + 1n);
      await expect(dm.connect(jurors[jurors.length - 1]).revealVote(disputeId, HONEST, salt)).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerDeadlinePassed",
      );
    });

    /** A juror challenges a chunk of the pinpointed state and the worker answers it 600 s later (V4.1 extends the windows). */
    async function withAnsweredJurorChallenge() {
      const f = await loadFixture(withCommittee);
      const { sys, jobId, disputeId, jurors } = f;
      const da = sys.dataAvailability;
      const r = stepRange(sys.traj, 1, 0, 1);
      await da.proveStepLeaves(jobId, 1, 0, r.stateHashes, r.proof);
      await da.connect(jurors[0]).challengeStateChunk(jobId, disputeId, 1, 0, 0);
      const file = sys.traj.states[K];
      const { chunkProof } = await import("../helpers/trees");
      await time.increase(600);
      await da.connect(sys.worker).answerChunk(1n, file.bytes.length, file.chunks[0], chunkProof(file, 0).proof);
      return f;
    }

    it("a juror's answered availability challenge extends the commit window (V4.1)", async function () {
      const { sys, jobId, disputeId, jurors } = await withAnsweredJurorChallenge();
      const dm = sys.disputeManager;
      const da = sys.dataAvailability;
      const at = BigInt(await time.latest());
      const [commitEnd, revealEnd] = await dm.votingWindows(disputeId);
      expect(commitEnd).to.equal(at + (await sys.jobMarket.jobTerms(jobId)).revealTimeout);
      expect(revealEnd - commitEnd).to.equal(BigInt(P.revealWindow));
      // resolve waits for a challenge still open
      await time.increaseTo(revealEnd - 10n);
      await da.connect(jurors[0]).challengeStateChunk(jobId, disputeId, 1, 0, 1);
      await time.increaseTo(revealEnd + 1n);
      await expect(dm.resolve(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerChallengesOpen").withArgs(disputeId, 1n);
    });

    it("stale windows (issue 17): votes skip the extension read only inside the drawn windows; past them the extension still rules", async function () {
      const { sys, disputeId, jurors } = await withAnsweredJurorChallenge();
      const dm = sys.disputeManager;
      const d = await dm.getDispute(disputeId);
      const [commitEnd, revealEnd] = await dm.votingWindows(disputeId);
      expect(commitEnd).to.be.greaterThan(d.commitEnd + 1n);
      const salts = jurors.map((_, i) => ethers.id(`stale${i}`) as Hex);
      const c = (i: number) => voteCommitment(disputeId, 0, jurors[i].address, FAULT, salts[i]);
      await dm.connect(jurors[0]).commitVote(disputeId, c(0));
      // Past the drawn commit end, inside the extended one: the commit is read against the extension.
      await time.increaseTo(d.commitEnd + 1n);
      await dm.connect(jurors[1]).commitVote(disputeId, c(1));
      // Not every seat committed and the extended commit window open: no reveal yet.
      await expect(dm.connect(jurors[0]).revealVote(disputeId, FAULT, salts[0])).to.be.revertedWithCustomError(
        dm,
        "DisputeManagerRevealNotOpen",
      );
      await time.increaseTo(commitEnd + 1n);
      await expect(dm.connect(jurors[2]).commitVote(disputeId, c(2)))
        .to.be.revertedWithCustomError(dm, "DisputeManagerDeadlinePassed")
        .withArgs(disputeId, commitEnd);
      // Past the drawn reveal end, inside the extended one: still open.
      await time.increaseTo(d.revealEnd + 1n);
      await expect(dm.connect(jurors[0]).revealVote(disputeId, FAULT, salts[0])).to.emit(dm, "VoteRevealed");
      // Not every seat revealed: resolve reads the extended reveal end.
      await expect(dm.resolve(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerVotingNotOver").withArgs(disputeId, revealEnd);
      await time.increaseTo(revealEnd + 1n);
      await expect(dm.connect(jurors[1]).revealVote(disputeId, FAULT, salts[1]))
        .to.be.revertedWithCustomError(dm, "DisputeManagerDeadlinePassed")
        .withArgs(disputeId, revealEnd);
    });
  });

  describe("resolve (V9.2 tally)", function () {
    const cases: [string, number[], number][] = [
      ["a WorkerFault majority", [FAULT, FAULT, HONEST], Ruling.WorkerFault],
      ["a WorkerHonest majority", [HONEST, HONEST, FAULT], Ruling.WorkerHonest],
      ["Indeterminate abstaining: one each", [FAULT, HONEST, INDET], Ruling.WorkerHonest],
      ["Indeterminate abstaining: fault beats honest", [FAULT, INDET, 0], Ruling.WorkerFault],
      ["more than half Indeterminate", [INDET, INDET, FAULT], Ruling.Indeterminate],
      ["exactly half Indeterminate of two reveals", [INDET, HONEST, 0], Ruling.WorkerHonest],
    ];
    for (const [what, votes, ruling] of cases) {
      it(`rules ${Object.keys(Ruling)[ruling]} for ${what}`, async function () {
        const { sys, jobId } = await loadFixture(systemWithJob);
        const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
        await vote(sys, disputeId, jurors, votes);
        if (votes.includes(0)) await time.increaseTo((await sys.disputeManager.getDispute(disputeId)).revealEnd + 1n);
        await expect(sys.disputeManager.resolve(disputeId))
          .to.emit(sys.disputeManager, "RulingGiven")
          .withArgs(disputeId, 0, ruling, anyUint);
        expect((await sys.disputeManager.getRound(disputeId, 0)).ruling).to.equal(ruling);
      });
    }

    it("reverts while the reveal window runs and not everyone revealed, and in the wrong phase", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      await vote(sys, disputeId, jurors, [FAULT, FAULT, 0]);
      await expect(dm.resolve(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerVotingNotOver");
      await expect(dm.resolve(99n)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase").withArgs(99n, Phase.None);
    });

    it("escalates a missed quorum (silent jurors lose their lock), then voids after maxRounds", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      await vote(sys, disputeId, jurors, [FAULT, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      const tx = dm.resolve(disputeId);
      await expect(tx).to.emit(dm, "RoundFailed").withArgs(disputeId, 0, 1, 2);
      await expect(tx).to.emit(dm, "JurorPenalized").withArgs(disputeId, 0, jurors[1].address, JUROR_LOCK);
      const d = await dm.getDispute(disputeId);
      expect(d.phase).to.equal(Phase.AwaitingDraw);
      expect(d.round).to.equal(1n);
      expect(d.jurorPot).to.equal(2n * JUROR_LOCK);
      const round1 = await drawCommittee(sys, disputeId);
      expect(round1.length).to.equal(7);
      await vote(sys, disputeId, round1, [FAULT, 0, 0, 0, 0, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      const v = dm.resolve(disputeId);
      await expect(v).to.emit(dm, "RoundFailed").withArgs(disputeId, 1, 1, 5);
      await expect(v).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expect(v).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.Void);
      // a quorum Void refunds no interval but holds finalization for a reopening
      await expect(v).not.to.emit(sys.jobMarket, "IntervalRefunded");
      expect(await dm.reopenHold(jobId)).to.be.greaterThan(0n);
      await expectConserved(sys, [disputeId]);
    });

    it("an appeal round that misses quorum leaves the appealed ruling standing; the appeal bond is lost (V6.1)", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await ruled(sys, jobId, [FAULT, FAULT, HONEST]);
      await dm.connect(sys.worker).appeal(disputeId);
      const round1 = await drawCommittee(sys, disputeId);
      await vote(sys, disputeId, round1, [HONEST, 0, 0, 0, 0, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      const tx = dm.resolve(disputeId);
      await expect(tx).to.emit(dm, "RoundFailed").withArgs(disputeId, 1, 1, 5);
      await expect(tx).to.emit(dm, "RulingGiven").withArgs(disputeId, 0, Ruling.WorkerFault, anyUint);
      const d = await dm.getDispute(disputeId);
      expect(d.phase).to.equal(Phase.Ruled);
      expect(d.ruling).to.equal(Ruling.WorkerFault);
      await time.increase(1);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const fin = dm.finalizeRuling(disputeId);
      await expect(fin).to.emit(dm, "WorkerConvicted");
      await expect(fin).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerFault);
      // the pot (6 silent locks + incoherence + appeal bond + jurors' share) goes to the two coherent jurors of round 0
      const pot = 6n * JUROR_LOCK + INCOHERENCE + APPEAL_BOND + split(C).toJurors;
      expect((await dm.credits(jurors[0].address)) + (await dm.credits(jurors[1].address))).to.equal(pot);
      await expectConserved(sys, [disputeId]);
    });
  });

  describe("finalizeRuling", function () {
    it("convicts on WorkerFault and splits the slashed collateral to the wei", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await ruled(sys, jobId, [FAULT, HONEST, FAULT]);
      await expect(dm.finalizeRuling(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerDeadlineNotPassed");
      await passAppeal(sys, disputeId);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const s = split(C);
      const pot = s.toJurors + INCOHERENCE;
      const tx = dm.finalizeRuling(disputeId);
      await expect(tx)
        .to.emit(dm, "WorkerConvicted")
        .withArgs(jobId, disputeId, sys.challenger.address, C, s.toChallenger, s.toJurors, s.toRequester, s.burned);
      await expect(tx)
        .to.emit(dm, "Credited")
        .withArgs(jurors[0].address, pot / 2n + (pot % 2n));
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.requester.address, s.toRequester);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerFault);
      await expect(tx).to.emit(sys.jobMarket, "JobRejected").withArgs(jobId, sys.worker.address);
      expect(await dm.credits(sys.challenger.address)).to.equal(COMMIT_BOND + s.toChallenger + DISPUTE_BOND);
      await expectConserved(sys, [disputeId]);
    });

    it("acquits on WorkerHonest: replayCost to the worker, the rest to jurors and burn; the step is judged", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [HONEST, HONEST, HONEST]);
      await passAppeal(sys, disputeId);
      const rest = DISPUTE_BOND - REPLAY_COST;
      const toJurors = (rest * BigInt(P.bondJurorBps)) / BPS;
      const tx = dm.finalizeRuling(disputeId);
      await expect(tx)
        .to.emit(dm, "BondForfeited")
        .withArgs(disputeId, REPLAY_COST, toJurors, rest - toJurors);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.worker.address, REPLAY_COST);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerHonest);
      expect(await dm.stepJudged(jobId, K)).to.equal(true);
      // the same step cannot be pinpointed again
      const other = await openDispute(sys, jobId, 1, sys.challenger2);
      await expect(pinpoint(sys, other, 0, sys.challenger2))
        .to.be.revertedWithCustomError(dm, "DisputeManagerStepAlreadyJudged")
        .withArgs(jobId, K);
      await expectConserved(sys, [disputeId, other]);
    });

    it("Indeterminate re-opens pinpointing up to 3 steps, then closes Unresolved refunding bond and interval (V9.3)", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [INDET, INDET, INDET]);
      await passAppeal(sys, disputeId);
      const re = dm.finalizeRuling(disputeId);
      await expect(re).to.emit(dm, "PinpointReopened").withArgs(disputeId, 1, anyUint);
      await expect(re).not.to.emit(dm, "DisputeClosed");
      let d = await dm.getDispute(disputeId);
      expect(d.phase).to.equal(Phase.Pinpointing);
      expect(await dm.stepJudged(jobId, K)).to.equal(false);
      // the same step may be named again (not judged) or another one
      for (const [n, j] of [
        [2, 1],
        [3, 0],
      ] as const) {
        await pinpoint(sys, disputeId, j);
        d = await dm.getDispute(disputeId);
        expect(d.pinpoints).to.equal(BigInt(n));
        expect(d.round).to.equal(d.roundBase);
        const jurors = await drawCommittee(sys, disputeId);
        expect(jurors.length).to.equal(3); // a new pinpoint starts from M again
        await vote(sys, disputeId, jurors, [INDET, INDET, INDET]);
        await dm.resolve(disputeId);
        await passAppeal(sys, disputeId);
        if (n === 2) await expect(dm.finalizeRuling(disputeId)).to.emit(dm, "PinpointReopened").withArgs(disputeId, 2, anyUint);
      }
      const job = await sys.jobMarket.getJob(jobId);
      const share = job.reward / 4n;
      const tx = dm.finalizeRuling(disputeId);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expect(tx)
        .to.emit(sys.jobMarket, "IntervalRefunded")
        .withArgs(jobId, share, job.reward - share);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.Unresolved);
      await expectConserved(sys, [disputeId]);
    });

    it("a challenger who names no further step after Indeterminate gets its bond back", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [INDET, INDET, FAULT]);
      await passAppeal(sys, disputeId);
      await dm.finalizeRuling(disputeId);
      await time.increaseTo((await dm.pinpointDeadline(disputeId)) + 1n);
      const tx = dm.timeoutPinpoint(disputeId);
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.Indeterminate);
      await expectConserved(sys, [disputeId]);
    });

    it("reverts in the wrong phase and for a job no longer Submitted", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await expect(dm.finalizeRuling(9n)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase").withArgs(9n, Phase.None);
      const a = await ruled(sys, jobId, [FAULT, FAULT, FAULT], 1);
      const b = await ruled(sys, jobId, [FAULT, FAULT, FAULT], 2);
      await passAppeal(sys, b.disputeId);
      await dm.finalizeRuling(a.disputeId);
      await expect(dm.finalizeRuling(b.disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerJobNotActive").withArgs(jobId);
      await expect(dm.closeMoot(b.disputeId)).to.emit(dm, "DisputeClosed").withArgs(b.disputeId, jobId, Ruling.Moot);
    });
  });

  describe("appeal", function () {
    it("starts a 2M+1 round; a reversed ruling refunds the appellant", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [FAULT, FAULT, HONEST]);
      const tx = dm.connect(sys.worker).appeal(disputeId);
      await expect(tx).to.emit(dm, "Appealed").withArgs(disputeId, sys.worker.address, 1, APPEAL_BOND);
      const appeal = await dm.getAppeal(disputeId, 0);
      expect(appeal.appellant).to.equal(sys.worker.address);
      expect(appeal.appealed).to.equal(Ruling.WorkerFault);
      const round1 = await drawCommittee(sys, disputeId);
      expect(round1.length).to.equal(7);
      await vote(sys, disputeId, round1, [HONEST, HONEST, HONEST, HONEST, HONEST, HONEST, HONEST]);
      await dm.resolve(disputeId);
      await passAppeal(sys, disputeId);
      const fin = dm.finalizeRuling(disputeId);
      await expect(fin).to.emit(dm, "Credited").withArgs(sys.worker.address, APPEAL_BOND);
      await expect(fin).to.emit(dm, "DisputeClosed").withArgs(disputeId, jobId, Ruling.WorkerHonest);
      await expectConserved(sys, [disputeId]);
    });

    it("anyone may fund an appeal (v3 V10.2); reverts after the window, beyond maxAppeals, or in the wrong phase", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const { disputeId } = await ruled(sys, jobId, [FAULT, FAULT, HONEST]);
      await expect(dm.connect(sys.stranger).appeal(disputeId))
        .to.emit(dm, "Appealed")
        .withArgs(disputeId, sys.stranger.address, 1n, APPEAL_BOND);
      await expect(dm.connect(sys.worker).appeal(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase");
      const round1 = await drawCommittee(sys, disputeId);
      await vote(sys, disputeId, round1, [FAULT, FAULT, FAULT, FAULT, FAULT, HONEST, HONEST]);
      await dm.resolve(disputeId);
      await expect(dm.connect(sys.challenger).appeal(disputeId))
        .to.be.revertedWithCustomError(dm, "DisputeManagerMaxAppealsReached")
        .withArgs(disputeId);
      await passAppeal(sys, disputeId);
      await expect(dm.connect(sys.worker).appeal(disputeId)).to.be.revertedWithCustomError(dm, "DisputeManagerDeadlinePassed");
    });
  });

  describe("bounty to the earliest live dispute (V2.4)", function () {
    it("a worker's sybil that convicts first pays the finder: the earliest live dispute's challenger takes the bounty", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const da = sys.dataAvailability;
      const finder = await openDispute(sys, jobId, 1); // earliest commitment
      const sybil = await openDispute(sys, jobId, 2, sys.challenger2);
      // the sybil demands leaves the (colluding) worker never answers
      await da.connect(sys.challenger2).demandStepLeaves(jobId, sybil, 2, 0, 2);
      await time.increaseTo((await da.getChallenge(1n)).deadline + 1n);
      const C = (await sys.jobMarket.getJob(jobId)).collateral;
      const s = split(C);
      const tx = da.timeoutChallenge(1n);
      await expect(tx)
        .to.emit(dm, "WorkerConvicted")
        .withArgs(jobId, sybil, sys.challenger.address, C, s.toChallenger, s.toJurors, s.toRequester, s.burned);
      // the opener keeps only openerFee of the bounty
      await expect(tx).to.emit(dm, "Credited").withArgs(sys.challenger2.address, OPENER_FEE);
      await expect(tx)
        .to.emit(dm, "Credited")
        .withArgs(sys.challenger.address, s.toChallenger - OPENER_FEE);
      await expect(tx).to.emit(dm, "DisputeClosed").withArgs(sybil, jobId, Ruling.WorkerFault);
      // the leaf bond comes back to the opener
      await expect(tx).to.emit(da, "Credited").withArgs(sys.challenger2.address, LEAF_BOND);
      // the finder's dispute is moot, its bond refunded
      await expect(dm.closeMoot(finder)).to.emit(dm, "Credited").withArgs(sys.challenger.address, DISPUTE_BOND);
      await expectConserved(sys, [finder, sybil]);
    });

    it("skips a dispute that let its pinpoint deadline pass", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const lazy = await openDispute(sys, jobId, 1);
      await time.increaseTo((await dm.pinpointDeadline(lazy)) - 60n);
      const active = await openDispute(sys, jobId, 2, sys.challenger2);
      expect(await dm.bountyDispute(jobId)).to.equal(lazy);
      await time.increaseTo((await dm.pinpointDeadline(lazy)) + 1n);
      expect(await dm.bountyDispute(jobId)).to.equal(active);
    });
  });

  describe("reopenDispute (V2.3)", function () {
    async function voided() {
      const { sys, jobId } = await systemWithJob();
      const dm = sys.disputeManager;
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      await vote(sys, disputeId, jurors, [0, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      await dm.resolve(disputeId);
      const round1 = await drawCommittee(sys, disputeId);
      await vote(sys, disputeId, round1, [0, 0, 0, 0, 0, 0, 0]);
      await time.increaseTo((await dm.getDispute(disputeId)).revealEnd + 1n);
      await dm.resolve(disputeId);
      return { sys, jobId, voidedId: disputeId };
    }

    it("reopens once, keeping the voided dispute's order", async function () {
      const { sys, jobId, voidedId } = await loadFixture(voided);
      const dm = sys.disputeManager;
      expect((await dm.getDispute(voidedId)).ruling).to.equal(Ruling.Void);
      await expect(dm.connect(sys.stranger).reopenDispute(voidedId, 0))
        .to.be.revertedWithCustomError(dm, "DisputeManagerNotChallenger")
        .withArgs(voidedId, sys.stranger.address);
      const id = (await dm.disputeCount()) + 1n;
      const tx = dm.connect(sys.challenger).reopenDispute(voidedId, 0);
      await expect(tx).to.emit(dm, "DisputeReopened").withArgs(id, voidedId);
      await expect(tx).to.emit(dm, "DisputeOpened").withArgs(id, jobId, 1, sys.challenger.address, DISPUTE_BOND, anyUint);
      const d = await dm.getDispute(id);
      expect(d.reopened).to.equal(true);
      expect(d.order).to.equal((await dm.getDispute(voidedId)).order);
      expect(await dm.reopenUsed(jobId, 1, sys.challenger.address)).to.equal(true);
      await expect(dm.connect(sys.challenger).reopenDispute(voidedId, 0))
        .to.be.revertedWithCustomError(dm, "DisputeManagerCannotReopen")
        .withArgs(voidedId);
      // the reopened dispute pinpoints from the stored checkpoint leaves
      await pinpoint(sys, id, 1);
    });

    it("may reopen after windowEnd until windowEnd + maxExtension when the commitment was valid at windowEnd", async function () {
      const { sys, voidedId, jobId } = await loadFixture(voided);
      const dm = sys.disputeManager;
      const job = await sys.jobMarket.getJob(jobId);
      // the fixture's commitment (TTL 1 h) was made long before windowEnd: no extension
      await time.increaseTo(job.windowEnd + 1n);
      await expect(dm.connect(sys.challenger).reopenDispute(voidedId, 0)).to.be.revertedWithCustomError(dm, "DisputeManagerCannotReopen");
    });

    it("refuses to reopen a dispute that was not voided", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const id = await openDispute(sys, jobId, 1);
      await expect(sys.disputeManager.connect(sys.challenger).reopenDispute(id, 0)).to.be.revertedWithCustomError(
        sys.disputeManager,
        "DisputeManagerCannotReopen",
      );
    });
  });

  describe("closeMoot", function () {
    it("after a conviction, refunds the other disputes in every phase and releases a voting committee", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      const pinpointing = await openDispute(sys, jobId, 2, sys.challenger2);
      const voting = await disputeWithCommittee(sys, jobId, 3);
      await expect(dm.closeMoot(pinpointing)).to.be.revertedWithCustomError(dm, "DisputeManagerJobStillActive").withArgs(jobId);
      const convicting = await ruled(sys, jobId, [FAULT, FAULT, FAULT], 1);
      await passAppeal(sys, convicting.disputeId);
      await dm.finalizeRuling(convicting.disputeId);
      await expect(dm.closeMoot(pinpointing)).to.emit(dm, "DisputeClosed").withArgs(pinpointing, jobId, Ruling.Moot);
      const lockId = await dm.jurorLockId(voting.disputeId, 0);
      const tx = dm.closeMoot(voting.disputeId);
      for (const j of voting.jurors) await expect(tx).to.emit(sys.stakeManager, "Unlocked").withArgs(j.address, lockId, JUROR_LOCK);
      await expect(dm.closeMoot(voting.disputeId))
        .to.be.revertedWithCustomError(dm, "DisputeManagerWrongPhase")
        .withArgs(voting.disputeId, Phase.Closed);
      expect(await dm.liveDisputes(jobId)).to.equal(0n);
      await expectConserved(sys, [pinpointing, voting.disputeId, convicting.disputeId]);
    });
  });

  describe("onUnavailable", function () {
    it("is the DataAvailability's only", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      await expect(sys.disputeManager.onUnavailable(jobId, 0, sys.stranger.address))
        .to.be.revertedWithCustomError(sys.disputeManager, "DisputeManagerNotDataAvailability")
        .withArgs(sys.admin.address);
    });
  });

  describe("withdraw", function () {
    it("pays out the caller's credits; reverts with nothing to withdraw", async function () {
      const { sys, jobId } = await loadFixture(systemWithJob);
      const dm = sys.disputeManager;
      await openDispute(sys, jobId, 1);
      const tx = dm.connect(sys.challenger).withdraw();
      await expect(tx).to.emit(dm, "Withdrawn").withArgs(sys.challenger.address, COMMIT_BOND);
      await expect(tx).to.changeTokenBalance(sys.stakeToken, sys.challenger, COMMIT_BOND);
      await expect(dm.connect(sys.challenger).withdraw())
        .to.be.revertedWithCustomError(dm, "DisputeManagerNothingToWithdraw")
        .withArgs(sys.challenger.address);
    });
  });

  describe("when the staking token re-enters", function () {
    async function armedSystem() {
      const sys = await deployReentrantSystem();
      const jobId = await submittedJob(sys);
      await openDispute(sys, jobId, 1); // credits the challenger its commit bond
      return { sys, jobId };
    }
    const calls: [string, unknown[]][] = [
      ["commitChallenge", [ethers.id("x")]],
      ["expireCommitment", [ethers.id("x")]],
      ["openDispute", [1n, 1, SALT, EMPTY_CHECKPOINT, EMPTY_CHECKPOINT, 0]],
      ["reopenDispute", [1n, 0]],
      ["timeoutPinpoint", [1n]],
      ["proveBoundaryMismatch", [1n, false, ethers.ZeroHash, []]],
      ["onUnavailable", [1n, 1n, ethers.ZeroAddress]],
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
        await expect(dm.connect(sys.challenger).withdraw()).to.be.revertedWithCustomError(dm, "ReentrancyGuardReentrantCall");
      });
    }
  });

  describe("views", function () {
    it("return empty records for unknown ids", async function () {
      const sys = await loadFixture(deploySystem);
      const dm = sys.disputeManager;
      expect((await dm.getDispute(1)).phase).to.equal(Phase.None);
      expect((await dm.getRound(1, 0)).jurors).to.deep.equal([]);
      expect((await dm.getVote(1, 0, sys.stranger.address)).seats).to.equal(0n);
      expect((await dm.getAppeal(1, 0)).bond).to.equal(0n);
      expect((await dm.getCommitment(ethers.ZeroHash)).challenger).to.equal(ethers.ZeroAddress);
      expect(await dm.bountyDispute(1)).to.equal(0n);
      expect(await dm.liveDisputes(1)).to.equal(0n);
      expect(await dm.reopenHold(1)).to.equal(0n);
    });
  });
});
