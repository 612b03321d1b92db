import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  E18,
  K,
  T,
  TRAJECTORY,
  WORKER_STAKE,
  createAndClaim,
  createClaimSubmit,
  createJob,
  deployJobsFixture,
  deployReentrantStakeFixture,
  jobParams,
  passWindow,
  requiredCollateralTs,
  stateHashes,
  submission,
  submit,
  drawAuditors,
  type JobsFixture,
} from "../helpers/jobs";
import { batchLeaf, buildTrajectory, checkpointLeaf, proof, root, sha256, ZERO_HASH } from "../helpers/merkle";
import { JobStatus as Status } from "../../verifier/protocol/enums";

const REWARD = 100n * E18;
const FEE = 10n * E18;

/** §10.11 formula with the default governance rates (base 1 h, 1e9 FLOP/s, 1e7 B/s). */
function timeoutTs(steps: bigint, states: bigint, flops: bigint, bytes: bigint): bigint {
  return 3600n + (steps * flops) / 1_000_000_000n + (states * bytes) / 10_000_000n;
}

describe("JobMarket", function () {
  async function fixture(): Promise<JobsFixture> {
    return deployJobsFixture();
  }

  describe("deployment", function () {
    it("sets roles, references and default parameters, emitting their events", async function () {
      const fx = await loadFixture(fixture);
      const { jobMarket: jm, admin } = fx;
      expect(await jm.hasRole(await jm.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      expect(await jm.hasRole(await jm.GOVERNOR_ROLE(), admin.address)).to.equal(true);
      expect(await jm.stakeManager()).to.equal(await fx.stakeManager.getAddress());
      expect(await jm.randomness()).to.equal(await fx.randomness.getAddress());
      expect(await jm.auditManager()).to.equal(await fx.auditManager.getAddress());
      expect(await jm.challengeWindow()).to.equal(86_400n);
      expect(await jm.auditorsPerJob()).to.equal(4n);
      expect(await jm.samplesPerAuditor()).to.equal(8n);
      expect(await jm.hostileAuditorBps()).to.equal(3_000n);
      expect(await jm.minCollateralBps()).to.equal(10_000n);
      expect(await jm.livenessPenaltyBps()).to.equal(1_000n);
      expect(await jm.timeoutBase()).to.equal(3_600n);
      expect(await jm.refFlopsPerSecond()).to.equal(1_000_000_000n);
      expect(await jm.refBytesPerSecond()).to.equal(10_000_000n);
      expect(await jm.nextJobId()).to.equal(1n);
      const deployTx = jm.deploymentTransaction();
      if (deployTx === null) throw new Error("no deployment tx");
      await expect(deployTx).to.emit(jm, "ChallengeWindowSet").withArgs(86_400n);
      await expect(deployTx).to.emit(jm, "AuditParamsSet").withArgs(4n, 8n, 3_000n);
      await expect(deployTx).to.emit(jm, "CollateralParamsSet").withArgs(10_000n, 1_000n);
      await expect(deployTx).to.emit(jm, "TimeoutParamsSet").withArgs(3_600n, 1_000_000_000n, 10_000_000n);
    });

    it("accepts an audit manager at construction", async function () {
      const fx = await loadFixture(fixture);
      const factory = await ethers.getContractFactory("JobMarket");
      const jm = await factory.deploy(fx.admin.address, fx.stakeManager, fx.randomness, fx.auditManager);
      await expect(jm.deploymentTransaction())
        .to.emit(jm, "AuditManagerSet")
        .withArgs(await fx.auditManager.getAddress());
      expect(await jm.auditManager()).to.equal(await fx.auditManager.getAddress());
    });

    it("reverts on a zero admin, stake manager or randomness", async function () {
      const fx = await loadFixture(fixture);
      const factory = await ethers.getContractFactory("JobMarket");
      const z = ethers.ZeroAddress;
      const [sm, rnd, am] = [fx.stakeManager, fx.randomness, fx.auditManager];
      await expect(factory.deploy(z, sm, rnd, am)).to.be.revertedWithCustomError(factory, "JobMarketZeroAddress");
      await expect(factory.deploy(fx.admin.address, z, rnd, am)).to.be.revertedWithCustomError(factory, "JobMarketZeroAddress");
      await expect(factory.deploy(fx.admin.address, sm, z, am)).to.be.revertedWithCustomError(factory, "JobMarketZeroAddress");
    });
  });

  describe("requiredCollateral (§10.9)", function () {
    it("is the reward floor under the default parameters", async function () {
      const fx = await loadFixture(fixture);
      expect(await fx.jobMarket.requiredCollateral(REWARD)).to.equal(REWARD);
      // Tiny rewards: the audit bound (counted at 1 − challengerBps, v3 V4.3) beats the floor by rounding.
      expect(await fx.jobMarket.requiredCollateral(1n)).to.equal(2n);
    });

    it("matches the fixed-point formula for several audit shapes", async function () {
      const fx = await loadFixture(fixture);
      const shapes = [
        { auditors: 1n, samples: 1n, hostileBps: 5_000n, minCollateralBps: 0n },
        { auditors: 4n, samples: 8n, hostileBps: 3_000n, minCollateralBps: 0n },
        { auditors: 32n, samples: 32n, hostileBps: 0n, minCollateralBps: 0n },
        { auditors: 3n, samples: 5n, hostileBps: 1_000n, minCollateralBps: 500n },
        { auditors: 2n, samples: 2n, hostileBps: 4_000n, minCollateralBps: 20_000n },
      ];
      for (const s of shapes) {
        await fx.jobMarket.setAuditParams(s.auditors, s.samples, s.hostileBps);
        await fx.jobMarket.setCollateralParams(s.minCollateralBps, 0);
        for (const reward of [1n, 12_345n, REWARD, 10n ** 30n]) {
          expect(await fx.jobMarket.requiredCollateral(reward)).to.equal(requiredCollateralTs(reward, s));
        }
      }
    });

    it("satisfies f·C < P(f)·(reward + collateral) on the grid and is tight", async function () {
      const fx = await loadFixture(fixture);
      // One auditor with one sample, half the stake hostile: P(f) = 0.5·f. Only c·(1 − challengerBps)
      // = c/2 is lost by the worker (v3 V4.3), so f·R < 0.5·f·(R + c/2) ⇔ c > 2R.
      await fx.jobMarket.setAuditParams(1, 1, 5_000);
      await fx.jobMarket.setCollateralParams(0, 0);
      const c = await fx.jobMarket.requiredCollateral(REWARD);
      expect(c).to.equal(2n * REWARD + 2n);
      const p = (f: number) => 1 - (0.5 + 0.5 * (1 - f)) ** 1;
      for (const f of [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]) {
        expect(f * Number(REWARD)).to.be.lessThan(p(f) * Number(REWARD + c / 2n) * (1 + 1e-12));
      }
      const params = await jobParams(fx, { collateral: c - 1n });
      await expect(fx.jobMarket.connect(fx.requester).createJob(params))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketCollateralTooLow")
        .withArgs(c - 1n, c);
    });
  });

  describe("createJob", function () {
    describe("when the parameters are valid", function () {
      it("escrows reward + fee, stores the job and its terms, and emits JobCreated", async function () {
        const fx = await loadFixture(fixture);
        const p = await jobParams(fx);
        const jm = fx.jobMarket;
        const tx = jm.connect(fx.requester).createJob(p);
        await expect(tx)
          .to.emit(jm, "JobCreated")
          .withArgs(1n, fx.requester.address, await fx.payToken.getAddress(), REWARD, FEE, REWARD, p.specHash, "ipfs://spec");
        await expect(tx).to.changeTokenBalances(fx.payToken, [fx.requester, jm], [-(REWARD + FEE), REWARD + FEE]);
        const job = await jm.getJob(1n);
        expect(job.requester).to.equal(fx.requester.address);
        expect(job.worker).to.equal(ethers.ZeroAddress);
        expect(job.status).to.equal(Status.Open);
        expect(job.reward).to.equal(REWARD);
        expect(job.verificationFee).to.equal(FEE);
        expect(job.collateral).to.equal(REWARD);
        expect(job.totalSteps).to.equal(BigInt(T));
        expect(job.checkpointInterval).to.equal(BigInt(K));
        expect(job.numBatches).to.equal(4n);
        expect(job.initialStateHash).to.equal(TRAJECTORY.stateHashes[0]);
        expect(job.dataRoot).to.equal(p.dataRoot);
        expect(job.specHash).to.equal(p.specHash);
        expect(job.claimDeadline).to.equal(p.claimDeadline);
        expect(job.trainingDuration).to.equal(3_600n);
        expect(job.createdAt).to.equal(BigInt(await time.latest())); // v3 V11.1: a canary's epoch
        expect(await jm.nextJobId()).to.equal(2n);
        expect(await jm.checkpointCount(1n)).to.equal(BigInt(T / K + 1));

        const flops = 1_000_000_000n;
        const bytes = 1_000_000n;
        const terms = await jm.jobTerms(1n);
        expect(terms.challengeWindow).to.equal(86_400n);
        expect(terms.auditorsPerJob).to.equal(4n);
        expect(terms.samplesPerAuditor).to.equal(8n);
        expect(await jm.pinpointTimeout(1n)).to.equal(timeoutTs(BigInt(K), BigInt(K + 1), flops, bytes));
        expect(await jm.answerTimeout(1n)).to.equal(timeoutTs(BigInt(K), BigInt(K + 1), flops, bytes));
        expect(await jm.revealTimeout(1n)).to.equal(timeoutTs(2n, 2n, flops, bytes));
      });

      it("derives longer timeouts for heavier steps and larger states", async function () {
        const fx = await loadFixture(fixture);
        const flops = 5n * 10n ** 12n;
        // 10 MB states: within the availability cap (V1.7: 1 + 3·1221 chunk challenges ≤ maxPerCase)
        const bytes = 10n ** 7n;
        const id = await createJob(fx, { flopsPerStep: flops, stateBytes: bytes });
        expect(await fx.jobMarket.answerTimeout(id)).to.equal(timeoutTs(2n, 3n, flops, bytes));
        expect(await fx.jobMarket.pinpointTimeout(id)).to.equal(timeoutTs(2n, 3n, flops, bytes));
        expect(await fx.jobMarket.revealTimeout(id)).to.equal(timeoutTs(2n, 2n, flops, bytes));
        expect(await fx.jobMarket.answerTimeout(id)).to.equal(3_600n + 10_000n + 3n);
      });

      it("snapshots the terms: later governance changes do not move a created job", async function () {
        const fx = await loadFixture(fixture);
        const id = await createJob(fx);
        // A shorter window still long enough that squatting it costs more than the bounty (V2.4).
        await fx.jobMarket.setChallengeWindow(43_200);
        await fx.jobMarket.setAuditParams(2, 3, 0);
        await fx.jobMarket.setTimeoutParams(60, 10n ** 6n, 1_000n);
        const terms = await fx.jobMarket.jobTerms(id);
        expect(terms.challengeWindow).to.equal(86_400n);
        expect(terms.auditorsPerJob).to.equal(4n);
        expect(terms.samplesPerAuditor).to.equal(8n);
        expect((await fx.jobMarket.jobTerms(await createJob(fx))).challengeWindow).to.equal(43_200n);
      });
    });

    describe("when a parameter is invalid", function () {
      async function expectRevert(fx: JobsFixture, overrides: Parameters<typeof jobParams>[1], error: string, args: unknown[]) {
        const p = await jobParams(fx, overrides);
        const call = expect(fx.jobMarket.connect(fx.requester).createJob(p)).to.be.revertedWithCustomError(fx.jobMarket, error);
        await (args.length > 0 ? call.withArgs(...args) : call);
      }

      it("refuses a token that is not allow-listed", async function () {
        const fx = await loadFixture(fixture);
        const stake = await fx.stakeToken.getAddress();
        await expectRevert(fx, { paymentToken: stake }, "JobMarketTokenNotAllowed", [stake]);
        await fx.jobMarket.setTokenAllowed(await fx.payToken.getAddress(), false);
        await expectRevert(fx, {}, "JobMarketTokenNotAllowed", [await fx.payToken.getAddress()]);
      });

      it("refuses a zero reward", async function () {
        const fx = await loadFixture(fixture);
        await expectRevert(fx, { reward: 0n }, "JobMarketZeroReward", []);
      });

      it("refuses T = 0, k = 0 and T not a multiple of k", async function () {
        const fx = await loadFixture(fixture);
        await expectRevert(fx, { totalSteps: 0 }, "JobMarketInvalidSteps", [0n, BigInt(K)]);
        await expectRevert(fx, { checkpointInterval: 0 }, "JobMarketInvalidSteps", [BigInt(T), 0n]);
        await expectRevert(fx, { totalSteps: 9 }, "JobMarketInvalidSteps", [9n, BigInt(K)]);
      });

      it("refuses more than 2^20 checkpoints", async function () {
        const fx = await loadFixture(fixture);
        const max = 1n << 20n;
        await expectRevert(fx, { totalSteps: max, checkpointInterval: 1 }, "JobMarketTooManyCheckpoints", [max + 1n, max]);
        // exactly 2^20 leaves is fine
        await createJob(fx, { totalSteps: max - 1n, checkpointInterval: 1 });
      });

      it("refuses zero batches", async function () {
        const fx = await loadFixture(fixture);
        await expectRevert(fx, { numBatches: 0 }, "JobMarketZeroBatches", []);
      });

      it("refuses zero FLOPs per step or zero state bytes", async function () {
        const fx = await loadFixture(fixture);
        await expectRevert(fx, { flopsPerStep: 0 }, "JobMarketInvalidWorkload", [0n, 1_000_000n]);
        await expectRevert(fx, { stateBytes: 0 }, "JobMarketInvalidWorkload", [1_000_000_000n, 0n]);
      });

      it("refuses a claim deadline in the past or more than a year ahead", async function () {
        const fx = await loadFixture(fixture);
        const now = BigInt(await time.latest());
        await expectRevert(fx, { claimDeadline: now }, "JobMarketInvalidClaimDeadline", [now]);
        const far = now + 366n * 86_400n;
        await expectRevert(fx, { claimDeadline: far }, "JobMarketInvalidClaimDeadline", [far]);
      });

      it("refuses a zero or over-long training duration", async function () {
        const fx = await loadFixture(fixture);
        await expectRevert(fx, { trainingDuration: 0 }, "JobMarketInvalidTrainingDuration", [0n]);
        const long = 366n * 86_400n;
        await expectRevert(fx, { trainingDuration: long }, "JobMarketInvalidTrainingDuration", [long]);
      });

      it("refuses a job whose derived timeouts exceed 30 days", async function () {
        const fx = await loadFixture(fixture);
        const flops = 2n ** 64n - 1n;
        await expectRevert(fx, { flopsPerStep: flops }, "JobMarketTimeoutTooLong", [
          timeoutTs(BigInt(K), BigInt(K + 1), flops, 1_000_000n),
          30n * 86_400n,
        ]);
      });

      it("refuses collateral below the requirement", async function () {
        const fx = await loadFixture(fixture);
        await expectRevert(fx, { collateral: REWARD - 1n }, "JobMarketCollateralTooLow", [REWARD - 1n, REWARD]);
      });
    });

    describe("when the contract cannot take the job", function () {
      it("reverts while paused", async function () {
        const fx = await loadFixture(fixture);
        await fx.jobMarket.pause();
        const p = await jobParams(fx);
        await expect(fx.jobMarket.connect(fx.requester).createJob(p)).to.be.revertedWithCustomError(fx.jobMarket, "EnforcedPause");
      });

      it("reverts while no audit manager is set", async function () {
        const fx = await loadFixture(fixture);
        const jm = await ethers.deployContract("JobMarket", [
          fx.admin.address,
          await fx.stakeManager.getAddress(),
          await fx.randomness.getAddress(),
          ethers.ZeroAddress,
        ]);
        await jm.setTokenAllowed(await fx.payToken.getAddress(), true);
        const p = await jobParams(fx);
        await expect(jm.connect(fx.requester).createJob(p)).to.be.revertedWithCustomError(jm, "JobMarketAuditManagerNotSet");
      });

      it("refuses a fee-on-transfer token", async function () {
        const fx = await loadFixture(fixture);
        const fot = await ethers.deployContract("FeeOnTransferToken");
        await fot.mint(fx.requester.address, 1_000n * E18);
        await fot.connect(fx.requester).approve(await fx.jobMarket.getAddress(), ethers.MaxUint256);
        await fx.jobMarket.setTokenAllowed(await fot.getAddress(), true);
        const p = await jobParams(fx, { paymentToken: await fot.getAddress() });
        const expected = REWARD + FEE;
        await expect(fx.jobMarket.connect(fx.requester).createJob(p))
          .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketFeeOnTransfer")
          .withArgs(expected, expected - expected / 100n);
      });

      it("refuses a token that re-enters createJob", async function () {
        const fx = await loadFixture(fixture);
        const bad = await ethers.deployContract("ReentrantToken");
        await bad.mint(fx.requester.address, 1_000n * E18);
        await bad.connect(fx.requester).approve(await fx.jobMarket.getAddress(), ethers.MaxUint256);
        await fx.jobMarket.setTokenAllowed(await bad.getAddress(), true);
        const p = await jobParams(fx, { paymentToken: await bad.getAddress() });
        await bad.arm(await fx.jobMarket.getAddress(), fx.jobMarket.interface.encodeFunctionData("createJob", [p]));
        await expect(fx.jobMarket.connect(fx.requester).createJob(p)).to.be.revertedWithCustomError(
          fx.jobMarket,
          "ReentrancyGuardReentrantCall",
        );
      });
    });
  });

  describe("cancelJob", function () {
    it("cancels an Open job and credits the escrow to the requester", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      const tx = fx.jobMarket.connect(fx.requester).cancelJob(id);
      await expect(tx).to.emit(fx.jobMarket, "JobCancelled").withArgs(id);
      await expect(tx)
        .to.emit(fx.jobMarket, "Credited")
        .withArgs(await fx.payToken.getAddress(), fx.requester.address, REWARD + FEE);
      expect((await fx.jobMarket.getJob(id)).status).to.equal(Status.Cancelled);
      expect(await fx.jobMarket.credits(await fx.payToken.getAddress(), fx.requester.address)).to.equal(REWARD + FEE);
    });

    it("still cancels after the claim deadline passed", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      await time.increase(2 * 86_400);
      await expect(fx.jobMarket.connect(fx.requester).cancelJob(id)).to.emit(fx.jobMarket, "JobCancelled").withArgs(id);
    });

    it("reverts for anyone but the requester", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      await expect(fx.jobMarket.connect(fx.stranger).cancelJob(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketNotRequester")
        .withArgs(id, fx.stranger.address);
    });

    it("reverts unless Open (claimed, cancelled, unknown)", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      await expect(fx.jobMarket.connect(fx.requester).cancelJob(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(id, Status.Claimed);
      await expect(fx.jobMarket.connect(fx.requester).cancelJob(99n))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(99n, Status.None);
    });
  });

  describe("claimJob", function () {
    it("locks the collateral under the job's lock id and starts the training clock", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      const lockId = await fx.jobMarket.collateralLockId(id);
      expect(lockId).to.equal(
        ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [await fx.jobMarket.getAddress(), id])),
      );
      const tx = fx.jobMarket.connect(fx.worker).claimJob(id);
      const deadline = BigInt(await time.latest()) + 1n + 3_600n;
      await expect(tx).to.emit(fx.jobMarket, "JobClaimed").withArgs(id, fx.worker.address, deadline);
      await expect(tx).to.emit(fx.stakeManager, "Locked").withArgs(fx.worker.address, lockId, REWARD, false);
      const job = await fx.jobMarket.getJob(id);
      expect(job.status).to.equal(Status.Claimed);
      expect(job.worker).to.equal(fx.worker.address);
      expect(job.submitDeadline).to.equal(deadline);
      expect(await fx.stakeManager.lockedAmount(fx.worker.address, lockId)).to.equal(REWARD);
      expect((await fx.stakeManager.account(fx.worker.address)).free).to.equal(WORKER_STAKE - REWARD);
    });

    it("can be claimed exactly at the claim deadline", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      const job = await fx.jobMarket.getJob(id);
      await time.setNextBlockTimestamp(job.claimDeadline);
      await expect(fx.jobMarket.connect(fx.worker).claimJob(id)).to.emit(fx.jobMarket, "JobClaimed");
    });

    it("reverts while paused", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      await fx.jobMarket.pause();
      await expect(fx.jobMarket.connect(fx.worker).claimJob(id)).to.be.revertedWithCustomError(fx.jobMarket, "EnforcedPause");
    });

    it("reverts unless Open", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      await expect(fx.jobMarket.connect(fx.worker2).claimJob(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(id, Status.Claimed);
    });

    it("reverts after the claim deadline", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      const job = await fx.jobMarket.getJob(id);
      await time.increaseTo(job.claimDeadline + 1n);
      await expect(fx.jobMarket.connect(fx.worker).claimJob(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketClaimDeadlinePassed")
        .withArgs(id, job.claimDeadline);
    });

    it("reverts when the worker's free stake is below the collateral", async function () {
      const fx = await loadFixture(fixture);
      // The dispute terms cap the collateral (jurorLock·(M − quorum + 1), V6.2), so shrink the free stake instead.
      const id = await createJob(fx);
      const collateral = (await fx.jobMarket.getJob(id)).collateral;
      const free = collateral - 1n;
      await fx.stakeManager.connect(fx.worker).requestUnstake(WORKER_STAKE - free);
      await expect(fx.jobMarket.connect(fx.worker).claimJob(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketInsufficientStake")
        .withArgs(fx.worker.address, free, collateral);
      await expect(fx.jobMarket.connect(fx.stranger).claimJob(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketInsufficientStake")
        .withArgs(fx.stranger.address, 0n, collateral);
    });
  });

  describe("expireClaim", function () {
    it("slashes the liveness penalty to the requester, unlocks the rest and re-opens the job", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      const job = await fx.jobMarket.getJob(id);
      await time.increaseTo(job.submitDeadline + 1n);
      const penalty = (REWARD * 1_000n) / 10_000n;
      const lockId = await fx.jobMarket.collateralLockId(id);
      const tx = fx.jobMarket.connect(fx.stranger).expireClaim(id);
      await expect(tx).to.emit(fx.jobMarket, "ClaimExpired").withArgs(id, fx.worker.address, penalty);
      await expect(tx)
        .to.emit(fx.jobMarket, "Credited")
        .withArgs(await fx.stakeToken.getAddress(), fx.requester.address, penalty);
      await expect(tx)
        .to.emit(fx.stakeManager, "Slashed")
        .withArgs(fx.worker.address, lockId, penalty, await fx.jobMarket.getAddress());
      await expect(tx)
        .to.emit(fx.stakeManager, "Unlocked")
        .withArgs(fx.worker.address, lockId, REWARD - penalty);
      await expect(tx).to.changeTokenBalances(fx.stakeToken, [fx.stakeManager, fx.jobMarket], [-penalty, penalty]);
      const after = await fx.jobMarket.getJob(id);
      expect(after.status).to.equal(Status.Open);
      expect(after.worker).to.equal(ethers.ZeroAddress);
      expect(after.submitDeadline).to.equal(0n);
      const acct = await fx.stakeManager.account(fx.worker.address);
      expect(acct.free).to.equal(WORKER_STAKE - penalty);
      expect(acct.locked).to.equal(0n);
      await expect(fx.jobMarket.connect(fx.requester).withdraw(await fx.stakeToken.getAddress())).to.changeTokenBalance(
        fx.stakeToken,
        fx.requester,
        penalty,
      );
    });

    it("only unlocks when the liveness penalty is zero", async function () {
      const fx = await loadFixture(fixture);
      await fx.jobMarket.setCollateralParams(10_000, 0);
      const id = await createAndClaim(fx);
      await time.increaseTo((await fx.jobMarket.getJob(id)).submitDeadline + 1n);
      const tx = fx.jobMarket.expireClaim(id);
      await expect(tx).to.emit(fx.jobMarket, "ClaimExpired").withArgs(id, fx.worker.address, 0n);
      await expect(tx).not.to.emit(fx.jobMarket, "Credited");
      expect((await fx.stakeManager.account(fx.worker.address)).free).to.equal(WORKER_STAKE);
    });

    it("reverts at or before the submission deadline", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      const job = await fx.jobMarket.getJob(id);
      await time.setNextBlockTimestamp(job.submitDeadline);
      await expect(fx.jobMarket.expireClaim(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketSubmitDeadlineNotPassed")
        .withArgs(id, job.submitDeadline);
    });

    it("reverts unless Claimed", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      await expect(fx.jobMarket.expireClaim(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(id, Status.Open);
    });
  });

  describe("submitResult", function () {
    it("records the commitment, the submission block and the window, and emits ResultSubmitted", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      const s = submission();
      const tx = await submit(fx, id);
      const receipt = await tx.wait();
      if (receipt === null) throw new Error("no receipt");
      const block = await ethers.provider.getBlock(receipt.blockNumber);
      if (block === null) throw new Error("no block");
      const windowEnd = BigInt(block.timestamp) + 86_400n;
      await expect(tx)
        .to.emit(fx.jobMarket, "ResultSubmitted")
        .withArgs(id, fx.worker.address, s.checkpointRoot, s.finalStateHash, "ipfs://result", windowEnd);
      const job = await fx.jobMarket.getJob(id);
      expect(job.status).to.equal(Status.Submitted);
      expect(job.checkpointRoot).to.equal(TRAJECTORY.checkpointRoot);
      expect(job.finalStateHash).to.equal(TRAJECTORY.stateHashes[T]);
      expect(job.submittedAt).to.equal(BigInt(block.timestamp));
      expect(job.submittedBlock).to.equal(BigInt(receipt.blockNumber));
      expect(job.windowEnd).to.equal(windowEnd);
    });

    it("accepts a submission exactly at the deadline", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      await time.setNextBlockTimestamp((await fx.jobMarket.getJob(id)).submitDeadline);
      await expect(submit(fx, id)).to.emit(fx.jobMarket, "ResultSubmitted");
    });

    it("reverts for anyone but the worker", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      const s = submission();
      await expect(
        fx.jobMarket
          .connect(fx.stranger)
          .submitResult(id, s.checkpointRoot, s.finalStateHash, s.resultURI, s.stepRoot0, s.proof0, s.proofLast),
      )
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketNotWorker")
        .withArgs(id, fx.stranger.address);
    });

    it("reverts unless Claimed", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      await expect(submit(fx, id)).to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus").withArgs(id, Status.Open);
    });

    it("reverts after the deadline", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      const job = await fx.jobMarket.getJob(id);
      await time.increaseTo(job.submitDeadline + 1n);
      await expect(submit(fx, id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketSubmitDeadlinePassed")
        .withArgs(id, job.submitDeadline);
    });

    it("reverts when leaf 0 does not hold the job's initial state", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      // a trajectory that starts from another state
      await expect(submit(fx, id, buildTrajectory(stateHashes(T, "other"), K)))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketInvalidProof")
        .withArgs(id, 0n);
    });

    it("reverts when the proof of leaf 0 has the wrong length or the wrong step root", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      const s = submission();
      const w = fx.jobMarket.connect(fx.worker);
      await expect(w.submitResult(id, s.checkpointRoot, s.finalStateHash, "", s.stepRoot0, s.proof0.slice(1), s.proofLast))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketInvalidProof")
        .withArgs(id, 0n);
      await expect(w.submitResult(id, s.checkpointRoot, s.finalStateHash, "", ZERO_HASH, s.proof0, s.proofLast))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketInvalidProof")
        .withArgs(id, 0n);
    });

    it("reverts when leaf n−1 does not hold the claimed final state with a zero step root", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      const s = submission();
      const n = T / K + 1;
      const w = fx.jobMarket.connect(fx.worker);
      await expect(w.submitResult(id, s.checkpointRoot, TRAJECTORY.stateHashes[T - 1], "", s.stepRoot0, s.proof0, s.proofLast))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketInvalidProof")
        .withArgs(id, BigInt(n - 1));
      // a tree whose last leaf carries a non-zero step root
      const leaves = [...TRAJECTORY.checkpointLeaves];
      leaves[n - 1] = checkpointLeaf(n - 1, TRAJECTORY.stateHashes[T], TRAJECTORY.stepRoots[0]);
      const r = root(leaves);
      await expect(w.submitResult(id, r, TRAJECTORY.stateHashes[T], "", s.stepRoot0, proof(leaves, 0), proof(leaves, n - 1)))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketInvalidProof")
        .withArgs(id, BigInt(n - 1));
    });
  });

  describe("checkpointCount", function () {
    it("reverts for an unknown job", async function () {
      const fx = await loadFixture(fixture);
      await expect(fx.jobMarket.checkpointCount(7n))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(7n, Status.None);
    });
  });

  describe("finalize", function () {
    it("pays the worker, unlocks its collateral and hands the fee to the AuditManager", async function () {
      const fx = await loadFixture(fixture);
      const id = await createClaimSubmit(fx);
      await passWindow(fx, id);
      const pay = await fx.payToken.getAddress();
      const lockId = await fx.jobMarket.collateralLockId(id);
      const tx = fx.jobMarket.connect(fx.stranger).finalize(id);
      await expect(tx).to.emit(fx.jobMarket, "JobFinalized").withArgs(id, fx.worker.address, REWARD);
      await expect(tx).to.emit(fx.jobMarket, "Credited").withArgs(pay, fx.worker.address, REWARD);
      await expect(tx).to.emit(fx.stakeManager, "Unlocked").withArgs(fx.worker.address, lockId, REWARD);
      // nobody drew auditors: the whole fee goes back to the requester, credited in the AuditManager
      await expect(tx).to.emit(fx.auditManager, "AuditSettled").withArgs(id, true, 0n, 0n);
      await expect(tx).to.emit(fx.auditManager, "Credited").withArgs(pay, fx.requester.address, FEE);
      await expect(tx).to.changeTokenBalances(fx.payToken, [fx.jobMarket, fx.auditManager], [-FEE, FEE]);
      expect((await fx.jobMarket.getJob(id)).status).to.equal(Status.Finalized);
      expect(await fx.jobMarket.credits(pay, fx.worker.address)).to.equal(REWARD);
      expect((await fx.stakeManager.account(fx.worker.address)).locked).to.equal(0n);
    });

    it("reverts while the window is open", async function () {
      const fx = await loadFixture(fixture);
      const id = await createClaimSubmit(fx);
      const job = await fx.jobMarket.getJob(id);
      await time.setNextBlockTimestamp(job.windowEnd);
      await expect(fx.jobMarket.finalize(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWindowOpen")
        .withArgs(id, job.windowEnd);
    });

    it("reverts while a dispute is open, and succeeds once it closes", async function () {
      const fx = await loadFixture(fixture);
      const id = await createClaimSubmit(fx);
      await fx.jobMarket.connect(fx.disputer).onDisputeOpened(id);
      await passWindow(fx, id);
      await expect(fx.jobMarket.finalize(id)).to.be.revertedWithCustomError(fx.jobMarket, "JobMarketDisputesOpen").withArgs(id, 1n);
      await fx.jobMarket.connect(fx.disputer).onDisputeClosed(id);
      await expect(fx.jobMarket.finalize(id)).to.emit(fx.jobMarket, "JobFinalized");
    });

    it("reverts unless Submitted, and a finalized job never changes again", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      await expect(fx.jobMarket.finalize(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(id, Status.Claimed);
      await submit(fx, id);
      await passWindow(fx, id);
      await fx.jobMarket.finalize(id);
      await expect(fx.jobMarket.finalize(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(id, Status.Finalized);
      await expect(fx.jobMarket.connect(fx.disputer).onWorkerConvicted(id, fx.disputer.address, ethers.MaxUint256))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(id, Status.Finalized);
      await expect(fx.jobMarket.connect(fx.requester).cancelJob(id))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(id, Status.Finalized);
    });
  });

  describe("withdraw", function () {
    it("pays out the whole credit once", async function () {
      const fx = await loadFixture(fixture);
      const id = await createJob(fx);
      await fx.jobMarket.connect(fx.requester).cancelJob(id);
      const pay = await fx.payToken.getAddress();
      const tx = fx.jobMarket.connect(fx.requester).withdraw(pay);
      await expect(tx)
        .to.emit(fx.jobMarket, "CreditWithdrawn")
        .withArgs(pay, fx.requester.address, REWARD + FEE);
      await expect(tx).to.changeTokenBalances(fx.payToken, [fx.requester, fx.jobMarket], [REWARD + FEE, -(REWARD + FEE)]);
      expect(await fx.jobMarket.credits(pay, fx.requester.address)).to.equal(0n);
      await expect(fx.jobMarket.connect(fx.requester).withdraw(pay))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketNothingToWithdraw")
        .withArgs(pay, fx.requester.address);
    });

    it("reverts when the token re-enters withdraw", async function () {
      const fx = await loadFixture(fixture);
      const bad = await ethers.deployContract("ReentrantToken");
      await bad.mint(fx.requester.address, 1_000n * E18);
      await bad.connect(fx.requester).approve(await fx.jobMarket.getAddress(), ethers.MaxUint256);
      await fx.jobMarket.setTokenAllowed(await bad.getAddress(), true);
      const id = await createJob(fx, { paymentToken: await bad.getAddress() });
      await fx.jobMarket.connect(fx.requester).cancelJob(id);
      await bad.arm(await fx.jobMarket.getAddress(), fx.jobMarket.interface.encodeFunctionData("withdraw", [await bad.getAddress()]));
      await expect(fx.jobMarket.connect(fx.requester).withdraw(await bad.getAddress())).to.be.revertedWithCustomError(
        fx.jobMarket,
        "ReentrancyGuardReentrantCall",
      );
      // disarmed (the failed call rolled back nothing but the attempt): the credit is intact and withdrawable
      await bad.arm(ethers.ZeroAddress, "0x");
      await expect(fx.jobMarket.connect(fx.requester).withdraw(await bad.getAddress())).to.changeTokenBalance(
        bad,
        fx.requester,
        REWARD + FEE,
      );
    });
  });

  describe("dispute hooks", function () {
    describe("onDisputeOpened / onDisputeClosed", function () {
      it("count open disputes and emit the new count", async function () {
        const fx = await loadFixture(fixture);
        const id = await createClaimSubmit(fx);
        const d = fx.jobMarket.connect(fx.disputer);
        await expect(d.onDisputeOpened(id)).to.emit(fx.jobMarket, "JobDisputeOpened").withArgs(id, 1n);
        await expect(d.onDisputeOpened(id)).to.emit(fx.jobMarket, "JobDisputeOpened").withArgs(id, 2n);
        expect((await fx.jobMarket.getJob(id)).openDisputes).to.equal(2n);
        await expect(d.onDisputeClosed(id)).to.emit(fx.jobMarket, "JobDisputeClosed").withArgs(id, 1n);
        await expect(d.onDisputeClosed(id)).to.emit(fx.jobMarket, "JobDisputeClosed").withArgs(id, 0n);
        await expect(d.onDisputeClosed(id)).to.be.revertedWithCustomError(fx.jobMarket, "JobMarketNoOpenDispute").withArgs(id);
      });

      it("open only on a Submitted job; the window is the DisputeManager's (a voided interval may reopen after it, v3 V2.3)", async function () {
        const fx = await loadFixture(fixture);
        const id = await createAndClaim(fx);
        const d = fx.jobMarket.connect(fx.disputer);
        await expect(d.onDisputeOpened(id))
          .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
          .withArgs(id, Status.Claimed);
        await submit(fx, id);
        const job = await fx.jobMarket.getJob(id);
        await time.setNextBlockTimestamp(job.windowEnd);
        await expect(d.onDisputeOpened(id)).to.emit(fx.jobMarket, "JobDisputeOpened").withArgs(id, 1n);
        await time.increase(3_600);
        await expect(d.onDisputeOpened(id)).to.emit(fx.jobMarket, "JobDisputeOpened").withArgs(id, 2n);
      });

      it("are DISPUTE_ROLE only", async function () {
        const fx = await loadFixture(fixture);
        const id = await createClaimSubmit(fx);
        const role = await fx.jobMarket.DISPUTE_ROLE();
        for (const call of [
          () => fx.jobMarket.connect(fx.stranger).onDisputeOpened(id),
          () => fx.jobMarket.connect(fx.stranger).onDisputeClosed(id),
          () => fx.jobMarket.connect(fx.stranger).onWorkerConvicted(id, fx.stranger.address, ethers.MaxUint256),
        ]) {
          await expect(call())
            .to.be.revertedWithCustomError(fx.jobMarket, "AccessControlUnauthorizedAccount")
            .withArgs(fx.stranger.address, role);
        }
      });
    });

    describe("onWorkerConvicted", function () {
      it("rejects the job, refunds the requester, slashes the whole collateral and tells the AuditManager", async function () {
        const fx = await loadFixture(fixture);
        const id = await createClaimSubmit(fx);
        await fx.jobMarket.connect(fx.disputer).onDisputeOpened(id);
        const lockId = await fx.jobMarket.collateralLockId(id);
        const d = fx.jobMarket.connect(fx.disputer);
        expect(await d.onWorkerConvicted.staticCall(id, fx.disputer.address, ethers.MaxUint256)).to.equal(REWARD);
        const tx = d.onWorkerConvicted(id, fx.disputer.address, ethers.MaxUint256);
        await expect(tx).to.emit(fx.jobMarket, "JobRejected").withArgs(id, fx.worker.address);
        await expect(tx)
          .to.emit(fx.jobMarket, "Credited")
          .withArgs(await fx.payToken.getAddress(), fx.requester.address, REWARD + FEE);
        await expect(tx).to.emit(fx.stakeManager, "Slashed").withArgs(fx.worker.address, lockId, REWARD, fx.disputer.address);
        await expect(tx).to.emit(fx.auditManager, "AuditSettled").withArgs(id, false, 0n, 0n);
        await expect(tx).to.changeTokenBalance(fx.stakeToken, fx.disputer, REWARD);
        expect((await fx.jobMarket.getJob(id)).status).to.equal(Status.Rejected);
        expect((await fx.auditManager.getAudit(id)).convictedInterval).to.equal(ethers.MaxUint256); // v3 V11.2: passed through
        expect((await fx.stakeManager.account(fx.worker.address)).locked).to.equal(0n);
        // a rejected job never changes status again; its remaining dispute can still be closed
        await expect(d.onWorkerConvicted(id, fx.disputer.address, ethers.MaxUint256))
          .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
          .withArgs(id, Status.Rejected);
        await passWindow(fx, id);
        await expect(fx.jobMarket.finalize(id))
          .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
          .withArgs(id, Status.Rejected);
        await expect(d.onDisputeClosed(id)).to.emit(fx.jobMarket, "JobDisputeClosed").withArgs(id, 0n);
      });
    });
  });

  describe("v3 dispute wiring", function () {
    it("setDisputeManager: once, non-zero, GOVERNOR_ROLE only; emits DisputeManagerSet", async function () {
      const fx = await loadFixture(fixture);
      const factory = await ethers.getContractFactory("JobMarket");
      const jm = await factory.deploy(fx.admin.address, fx.stakeManager, fx.randomness, fx.auditManager);
      const dm = await fx.disputeManager.getAddress();
      await expect(jm.connect(fx.stranger).setDisputeManager(dm)).to.be.revertedWithCustomError(jm, "AccessControlUnauthorizedAccount");
      await expect(jm.setDisputeManager(ethers.ZeroAddress)).to.be.revertedWithCustomError(jm, "JobMarketZeroAddress");
      await expect(jm.setDisputeManager(dm)).to.emit(jm, "DisputeManagerSet").withArgs(dm);
      expect(await jm.disputeManager()).to.equal(dm);
      await expect(jm.setDisputeManager(dm)).to.be.revertedWithCustomError(jm, "JobMarketDisputeManagerAlreadySet").withArgs(dm);
      expect(await fx.jobMarket.disputeManager()).to.equal(dm);
    });

    it("createJob and requiredCollateral need the DisputeManager", async function () {
      const fx = await loadFixture(fixture);
      const factory = await ethers.getContractFactory("JobMarket");
      const jm = await factory.deploy(fx.admin.address, fx.stakeManager, fx.randomness, fx.auditManager);
      await expect(jm.requiredCollateral(REWARD)).to.be.revertedWithCustomError(jm, "JobMarketDisputeManagerNotSet");
      await jm.setTokenAllowed(fx.payToken, true);
      const params = await jobParams(fx);
      await expect(jm.connect(fx.requester).createJob(params)).to.be.revertedWithCustomError(jm, "JobMarketDisputeManagerNotSet");
    });

    it("createJob refuses terms the dispute game cannot cover (V6.2 juror lock, V2.4 squatting)", async function () {
      const fx = await loadFixture(fixture);
      const p = await fx.disputeManager.params();
      // jurorLock·(M − quorum + 1) = 150·2 covers at most 300 STK of collateral.
      const cap = p.jurorLock * (p.committeeSize - p.quorum + 1n);
      await expect(fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx, { collateral: cap + 1n })))
        .to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerJurorLockTooLow")
        .withArgs(p.jurorLock, p.jurorLock + 1n);
      expect(await createJob(fx, { collateral: cap })).to.be.a("bigint");
      // A one-hour window: 25 STK of commitment bonds squat it for an hour, less than the 50 STK bounty.
      await fx.jobMarket.setChallengeWindow(3_600);
      const terms = await fx.jobMarket.jobTerms(await createJob(fx, { collateral: 40n * E18 + 0n, reward: 10n * E18 }));
      expect(terms.challengeWindow).to.equal(3_600n);
      await expect(fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx))).to.be.revertedWithCustomError(
        fx.disputeManager,
        "DisputeManagerSquattingTooCheap",
      );
    });

    it("onIntervalRefunded returns one interval's share of the remaining reward to the requester; shares sum to the reward", async function () {
      const fx = await loadFixture(fixture);
      const id = await createClaimSubmit(fx);
      const d = fx.jobMarket.connect(fx.disputer);
      const pay = await fx.payToken.getAddress();
      const intervals = BigInt(T / K);
      let left = REWARD;
      let refunded = 0n;
      for (let i = 0n; i < intervals; i++) {
        const share = left / (intervals - i);
        left -= share;
        refunded += share;
        const tx = d.onIntervalRefunded(id);
        await expect(tx).to.emit(fx.jobMarket, "IntervalRefunded").withArgs(id, share, left);
        await expect(tx).to.emit(fx.jobMarket, "Credited").withArgs(pay, fx.requester.address, share);
      }
      expect(refunded).to.equal(REWARD);
      expect((await fx.jobMarket.getJob(id)).reward).to.equal(0n);
      await expect(fx.jobMarket.connect(fx.stranger).onIntervalRefunded(id)).to.be.revertedWithCustomError(
        fx.jobMarket,
        "AccessControlUnauthorizedAccount",
      );
      const open = await createJob(fx);
      await expect(d.onIntervalRefunded(open))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWrongStatus")
        .withArgs(open, Status.Open);
    });

    it("finalize waits for open availability challenges (an auditor's, V1.5)", async function () {
      const fx = await loadFixture(fixture);
      const da = fx.dataAvailability;
      const batch = sha256(Buffer.from("batch"));
      const leaves = [0, 1, 2, 3].map((b) => batchLeaf(b, batch));
      const id = await createJob(fx, { dataRoot: root(leaves) });
      await fx.jobMarket.connect(fx.worker).claimJob(id);
      await submit(fx, id);
      const [auditor] = await drawAuditors(fx, id);
      await fx.stakeToken.mint(auditor.address, 100n * E18);
      await fx.stakeToken.connect(auditor).approve(da, ethers.MaxUint256);
      await da.connect(auditor).challengeBatchChunk(id, 0, 1, batch, proof(leaves, 1), 0);
      expect(await da.openChallenges(id)).to.equal(1n);
      await passWindow(fx, id);
      await expect(fx.jobMarket.finalize(id)).to.be.revertedWithCustomError(fx.jobMarket, "JobMarketChallengesOpen").withArgs(id, 1n);
      // Unanswered: the deadline (answerTimeout) is long past; the timeout convicts the worker.
      await da.timeoutChallenge(1n);
      expect((await fx.jobMarket.getJob(id)).status).to.equal(Status.Rejected);
    });
  });

  describe("governance", function () {
    it("sets the audit manager only once and never to zero", async function () {
      const fx = await loadFixture(fixture);
      await expect(fx.jobMarket.setAuditManager(fx.stranger.address))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketAuditManagerAlreadySet")
        .withArgs(await fx.auditManager.getAddress());
      const jm = await ethers.deployContract("JobMarket", [
        fx.admin.address,
        await fx.stakeManager.getAddress(),
        await fx.randomness.getAddress(),
        ethers.ZeroAddress,
      ]);
      await expect(jm.setAuditManager(ethers.ZeroAddress)).to.be.revertedWithCustomError(jm, "JobMarketZeroAddress");
      await expect(jm.setAuditManager(fx.stranger.address)).to.emit(jm, "AuditManagerSet").withArgs(fx.stranger.address);
    });

    it("allow-lists tokens", async function () {
      const fx = await loadFixture(fixture);
      const addr = await fx.stakeToken.getAddress();
      await expect(fx.jobMarket.setTokenAllowed(addr, true)).to.emit(fx.jobMarket, "PaymentTokenAllowed").withArgs(addr, true);
      expect(await fx.jobMarket.tokenAllowed(addr)).to.equal(true);
      await expect(fx.jobMarket.setTokenAllowed(ethers.ZeroAddress, true)).to.be.revertedWithCustomError(
        fx.jobMarket,
        "JobMarketZeroAddress",
      );
    });

    it("bounds the challenge window", async function () {
      const fx = await loadFixture(fixture);
      const jm = fx.jobMarket;
      await expect(jm.setChallengeWindow(600)).to.emit(jm, "ChallengeWindowSet").withArgs(600n);
      await expect(jm.setChallengeWindow(30 * 86_400))
        .to.emit(jm, "ChallengeWindowSet")
        .withArgs(30n * 86_400n);
      await expect(jm.setChallengeWindow(599)).to.be.revertedWithCustomError(jm, "JobMarketInvalidChallengeWindow").withArgs(599n);
      await expect(jm.setChallengeWindow(30 * 86_400 + 1))
        .to.be.revertedWithCustomError(jm, "JobMarketInvalidChallengeWindow")
        .withArgs(30n * 86_400n + 1n);
    });

    it("bounds the audit parameters", async function () {
      const fx = await loadFixture(fixture);
      const jm = fx.jobMarket;
      await expect(jm.setAuditParams(32, 32, 5_000))
        .to.emit(jm, "AuditParamsSet")
        .withArgs(32n, 32n, 5_000n);
      for (const [a, s, w] of [
        [0, 8, 0],
        [33, 8, 0],
        [4, 0, 0],
        [4, 33, 0],
        [4, 8, 5_001],
      ]) {
        await expect(jm.setAuditParams(a, s, w))
          .to.be.revertedWithCustomError(jm, "JobMarketInvalidAuditParams")
          .withArgs(a, s, w);
      }
    });

    it("bounds the collateral parameters", async function () {
      const fx = await loadFixture(fixture);
      const jm = fx.jobMarket;
      await expect(jm.setCollateralParams(1_000_000, 5_000)).to.emit(jm, "CollateralParamsSet").withArgs(1_000_000n, 5_000n);
      await expect(jm.setCollateralParams(1_000_001, 0))
        .to.be.revertedWithCustomError(jm, "JobMarketInvalidCollateralParams")
        .withArgs(1_000_001n, 0n);
      await expect(jm.setCollateralParams(0, 5_001))
        .to.be.revertedWithCustomError(jm, "JobMarketInvalidCollateralParams")
        .withArgs(0n, 5_001n);
    });

    it("bounds the timeout parameters", async function () {
      const fx = await loadFixture(fixture);
      const jm = fx.jobMarket;
      await expect(jm.setTimeoutParams(60, 10n ** 6n, 1_000n))
        .to.emit(jm, "TimeoutParamsSet")
        .withArgs(60n, 10n ** 6n, 1_000n);
      await expect(jm.setTimeoutParams(7 * 86_400, 10n ** 18n, 10n ** 12n))
        .to.emit(jm, "TimeoutParamsSet")
        .withArgs(7n * 86_400n, 10n ** 18n, 10n ** 12n);
      for (const [b, f, by] of [
        [59n, 10n ** 9n, 10n ** 7n],
        [7n * 86_400n + 1n, 10n ** 9n, 10n ** 7n],
        [3_600n, 10n ** 6n - 1n, 10n ** 7n],
        [3_600n, 10n ** 18n + 1n, 10n ** 7n],
        [3_600n, 10n ** 9n, 999n],
        [3_600n, 10n ** 9n, 10n ** 12n + 1n],
      ]) {
        await expect(jm.setTimeoutParams(b, f, by))
          .to.be.revertedWithCustomError(jm, "JobMarketInvalidTimeoutParams")
          .withArgs(b, f, by);
      }
    });

    it("pauses and unpauses", async function () {
      const fx = await loadFixture(fixture);
      await expect(fx.jobMarket.pause()).to.emit(fx.jobMarket, "Paused").withArgs(fx.admin.address);
      await expect(fx.jobMarket.unpause()).to.emit(fx.jobMarket, "Unpaused").withArgs(fx.admin.address);
      await createJob(fx);
    });

    it("keeps every lifecycle step but create and claim running while paused", async function () {
      const fx = await loadFixture(fixture);
      const a = await createJob(fx);
      const b = await createAndClaim(fx);
      await fx.jobMarket.pause();
      await fx.jobMarket.connect(fx.requester).cancelJob(a);
      await submit(fx, b);
      await passWindow(fx, b);
      await expect(fx.jobMarket.finalize(b)).to.emit(fx.jobMarket, "JobFinalized");
      await expect(fx.jobMarket.connect(fx.worker).withdraw(await fx.payToken.getAddress())).to.emit(fx.jobMarket, "CreditWithdrawn");
    });

    it("are GOVERNOR_ROLE only", async function () {
      const fx = await loadFixture(fixture);
      const jm = fx.jobMarket.connect(fx.stranger);
      const role = await fx.jobMarket.GOVERNOR_ROLE();
      for (const call of [
        () => jm.setAuditManager(fx.stranger.address),
        () => jm.setTokenAllowed(fx.stranger.address, true),
        () => jm.setChallengeWindow(3_600),
        () => jm.setAuditParams(1, 1, 0),
        () => jm.setCollateralParams(0, 0),
        () => jm.setTimeoutParams(60, 10n ** 9n, 10n ** 7n),
        () => jm.pause(),
        () => jm.unpause(),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(fx.jobMarket, "AccessControlUnauthorizedAccount")
          .withArgs(fx.stranger.address, role);
      }
    });
  });

  describe("when a token re-enters", function () {
    it("finalize refuses a payment token that re-enters it", async function () {
      const fx = await loadFixture(fixture);
      const bad = await ethers.deployContract("ReentrantToken");
      await bad.mint(fx.requester.address, 1_000n * E18);
      await bad.connect(fx.requester).approve(await fx.jobMarket.getAddress(), ethers.MaxUint256);
      await fx.jobMarket.setTokenAllowed(await bad.getAddress(), true);
      const id = await createJob(fx, { paymentToken: await bad.getAddress() });
      await fx.jobMarket.connect(fx.worker).claimJob(id);
      await submit(fx, id);
      await passWindow(fx, id);
      await bad.arm(await fx.jobMarket.getAddress(), fx.jobMarket.interface.encodeFunctionData("finalize", [id]));
      await expect(fx.jobMarket.finalize(id)).to.be.revertedWithCustomError(fx.jobMarket, "ReentrancyGuardReentrantCall");
      expect((await fx.jobMarket.getJob(id)).status).to.equal(Status.Submitted);
    });

    it("expireClaim and onWorkerConvicted refuse a staking token that re-enters them", async function () {
      const fx = await loadFixture(deployReentrantStakeFixture);
      const jm = await fx.jobMarket.getAddress();
      const a = await createAndClaim(fx);
      await time.increase(3_601);
      await fx.reentrantStake.arm(jm, fx.jobMarket.interface.encodeFunctionData("expireClaim", [a]));
      await expect(fx.jobMarket.expireClaim(a)).to.be.revertedWithCustomError(fx.jobMarket, "ReentrancyGuardReentrantCall");

      const b = await createClaimSubmit(fx);
      const payload = fx.jobMarket.interface.encodeFunctionData("onWorkerConvicted", [b, fx.disputer.address, ethers.MaxUint256]);
      await fx.reentrantStake.arm(jm, payload);
      await expect(
        fx.jobMarket.connect(fx.disputer).onWorkerConvicted(b, fx.disputer.address, ethers.MaxUint256),
      ).to.be.revertedWithCustomError(fx.jobMarket, "ReentrancyGuardReentrantCall");
    });
  });

  describe("scenarios", function () {
    /** Conservation (§8): the market's token balance equals open escrow plus outstanding credits. */
    async function expectConserved(fx: JobsFixture, escrow: bigint, holders: string[]) {
      const pay = await fx.payToken.getAddress();
      let credits = 0n;
      for (const h of holders) credits += await fx.jobMarket.credits(pay, h);
      expect(await fx.payToken.balanceOf(await fx.jobMarket.getAddress())).to.equal(escrow + credits);
    }

    it("honest job: created, claimed, submitted, window passes, finalized, everyone withdraws", async function () {
      const fx = await loadFixture(fixture);
      const holders = [fx.requester.address, fx.worker.address];
      const before = await fx.payToken.balanceOf(fx.requester.address);
      const id = await createJob(fx);
      await expectConserved(fx, REWARD + FEE, holders);
      await fx.jobMarket.connect(fx.worker).claimJob(id);
      await time.increase(1_800);
      await submit(fx, id);
      await time.increase(3_600);
      await expect(fx.jobMarket.finalize(id)).to.be.revertedWithCustomError(fx.jobMarket, "JobMarketWindowOpen");
      await passWindow(fx, id);
      await fx.jobMarket.finalize(id);
      await expectConserved(fx, 0n, holders);
      const pay = await fx.payToken.getAddress();
      await expect(fx.jobMarket.connect(fx.worker).withdraw(pay)).to.changeTokenBalance(fx.payToken, fx.worker, REWARD);
      await expect(fx.auditManager.connect(fx.requester).withdraw(pay)).to.changeTokenBalance(fx.payToken, fx.requester, FEE);
      expect(await fx.payToken.balanceOf(fx.requester.address)).to.equal(before - REWARD);
      expect(await fx.payToken.balanceOf(await fx.jobMarket.getAddress())).to.equal(0n);
      expect(await fx.payToken.balanceOf(await fx.auditManager.getAddress())).to.equal(0n);
      expect(await fx.stakeManager.account(fx.worker.address)).to.deep.equal([WORKER_STAKE, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    });

    it("claim expiry: the first worker is penalised, a second worker completes and is paid", async function () {
      const fx = await loadFixture(fixture);
      const id = await createAndClaim(fx);
      await time.increase(3_601);
      await fx.jobMarket.expireClaim(id);
      await fx.jobMarket.connect(fx.worker2).claimJob(id);
      const s = submission();
      await expect(
        fx.jobMarket.connect(fx.worker).submitResult(id, s.checkpointRoot, s.finalStateHash, "", s.stepRoot0, s.proof0, s.proofLast),
      ).to.be.revertedWithCustomError(fx.jobMarket, "JobMarketNotWorker");
      await fx.jobMarket.connect(fx.worker2).submitResult(id, s.checkpointRoot, s.finalStateHash, "", s.stepRoot0, s.proof0, s.proofLast);
      await passWindow(fx, id);
      await expect(fx.jobMarket.finalize(id)).to.emit(fx.jobMarket, "JobFinalized").withArgs(id, fx.worker2.address, REWARD);
      const penalty = REWARD / 10n;
      expect((await fx.stakeManager.account(fx.worker.address)).free).to.equal(WORKER_STAKE - penalty);
      expect((await fx.stakeManager.account(fx.worker2.address)).free).to.equal(WORKER_STAKE);
      expect(await fx.jobMarket.credits(await fx.stakeToken.getAddress(), fx.requester.address)).to.equal(penalty);
      expect(await fx.jobMarket.credits(await fx.payToken.getAddress(), fx.worker2.address)).to.equal(REWARD);
      expect(await fx.jobMarket.credits(await fx.payToken.getAddress(), fx.worker.address)).to.equal(0n);
    });

    it("cancel: an unclaimed job past its deadline is cancelled and fully refunded", async function () {
      const fx = await loadFixture(fixture);
      const before = await fx.payToken.balanceOf(fx.requester.address);
      const id = await createJob(fx);
      await time.increase(2 * 86_400);
      await expect(fx.jobMarket.connect(fx.worker).claimJob(id)).to.be.revertedWithCustomError(
        fx.jobMarket,
        "JobMarketClaimDeadlinePassed",
      );
      await fx.jobMarket.connect(fx.requester).cancelJob(id);
      await fx.jobMarket.connect(fx.requester).withdraw(await fx.payToken.getAddress());
      expect(await fx.payToken.balanceOf(fx.requester.address)).to.equal(before);
      await expectConserved(fx, 0n, [fx.requester.address]);
    });
  });
});
