/**
 * Issue 17 (gas): the packed Job layout (128-bit amounts), the cached §10.9 binding grid point and
 * the narrow job views. Each test names the mistake it would catch.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  E18,
  K,
  T,
  TRAJECTORY,
  createJob,
  deployJobsFixture,
  jobParams,
  requiredCollateralTs,
  submit,
  type JobsFixture,
} from "../helpers/jobs";
import { stakeAccount } from "../helpers/staking";
import { defaultParams } from "../../scripts/lib/params";

const MAX128 = (1n << 128n) - 1n;
const REWARD = 100n * E18;

/** Deterministic xorshift64*: the same "random" parameters on every run. */
function rng(seed: bigint): (below: bigint) => bigint {
  let s = seed;
  return (below) => {
    s ^= s >> 12n;
    s ^= (s << 25n) & 0xffffffffffffffffn;
    s ^= s >> 27n;
    return ((s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) % below;
  };
}

describe("JobMarket packing and cached collateral bound (issue 17)", function () {
  async function fixture(): Promise<JobsFixture> {
    return deployJobsFixture();
  }

  async function setChallengerBps(fx: JobsFixture, challengerBps: bigint): Promise<void> {
    // jurorBps and requesterBps zeroed so any challengerBps < 100 % is a valid parameter set.
    await fx.disputeManager.setParams({ ...defaultParams().dispute, challengerBps, jurorBps: 0, requesterBps: 0 });
  }

  describe("requiredCollateral from the cached binding grid point", function () {
    it("equals the per-grid-point formula over random audit, floor and challenger parameters and rewards", async function () {
      const fx = await loadFixture(fixture);
      const next = rng(0x5eed17n);
      for (let round = 0; round < 30; ++round) {
        const shape = {
          auditors: 1n + next(32n),
          samples: 1n + next(32n),
          hostileBps: next(5_001n),
          // Mostly small floors so the audit bound binds; sometimes a floor that wins.
          minCollateralBps: next(4n) === 0n ? next(1_000_001n) : next(100n),
          challengerBps: next(10_000n),
        };
        await fx.jobMarket.setAuditParams(shape.auditors, shape.samples, shape.hostileBps);
        await fx.jobMarket.setCollateralParams(shape.minCollateralBps, 0);
        await setChallengerBps(fx, shape.challengerBps);
        const rewards = [1n, 2n, 3n, 999n, REWARD, MAX128, 1n + next(1n << (8n + next(120n)))];
        for (const reward of rewards) {
          expect(await fx.jobMarket.requiredCollateral(reward), `round ${round}, reward ${reward}`).to.equal(
            requiredCollateralTs(reward, shape),
          );
        }
      }
    });

    it("takes a DisputeManager challengerBps change at the next createJob, with no refresh call", async function () {
      const fx = await loadFixture(fixture);
      // The audit bound binds (no floor); a larger challenger share leaves the worker less to lose.
      await fx.jobMarket.setAuditParams(1, 1, 5_000);
      await fx.jobMarket.setCollateralParams(0, 0);
      const shape = { auditors: 1n, samples: 1n, hostileBps: 5_000n, minCollateralBps: 0n };
      await setChallengerBps(fx, 2_000n);
      const before = requiredCollateralTs(REWARD, { ...shape, challengerBps: 2_000n });
      await setChallengerBps(fx, 4_000n);
      const after = requiredCollateralTs(REWARD, { ...shape, challengerBps: 4_000n });
      expect(after).to.be.greaterThan(before);
      await expect(fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx, { collateral: after - 1n })))
        .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketCollateralTooLow")
        .withArgs(after - 1n, after);
      await expect(fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx, { collateral: after }))).to.emit(
        fx.jobMarket,
        "JobCreated",
      );
    });
  });

  describe("128-bit amounts", function () {
    it("createJob refuses a reward, fee or collateral beyond 128 bits (JobMarketAmountTooLarge)", async function () {
      const fx = await loadFixture(fixture);
      const jm = fx.jobMarket.connect(fx.requester);
      const base = await jobParams(fx);
      for (const over of [{ reward: MAX128 + 1n }, { verificationFee: MAX128 + 1n }, { collateral: MAX128 + 1n }]) {
        const p = { ...base, ...over };
        await expect(jm.createJob(p))
          .to.be.revertedWithCustomError(fx.jobMarket, "JobMarketAmountTooLarge")
          .withArgs(p.reward, p.verificationFee, p.collateral, MAX128);
      }
    });

    it("a reward + fee sum beyond 128 bits is refunded in full on cancel and on conviction", async function () {
      const fx = await loadFixture(fixture);
      const pay = await fx.payToken.getAddress();
      await fx.payToken.mint(fx.requester.address, 2n * MAX128);
      // Each amount fits 128 bits, their sum does not: the refund must be summed in 256 bits.
      const cancelled = await createJob(fx, { verificationFee: MAX128 });
      await fx.jobMarket.connect(fx.requester).cancelJob(cancelled);
      expect(await fx.jobMarket.credits(pay, fx.requester.address)).to.equal(REWARD + MAX128);

      const convicted = await createJob(fx, { verificationFee: MAX128 });
      await fx.jobMarket.connect(fx.worker).claimJob(convicted);
      await submit(fx, convicted);
      await fx.jobMarket.connect(fx.disputer).onWorkerConvicted(convicted, fx.disputer.address, ethers.MaxUint256);
      expect(await fx.jobMarket.credits(pay, fx.requester.address)).to.equal(2n * (REWARD + MAX128));
    });

    it("expireClaim's penalty on a collateral near 128 bits does not overflow", async function () {
      const fx = await loadFixture(fixture);
      const collateral = 10n ** 35n; // × 5 000 bps overflows 128 bits unless widened
      const huge = 10n ** 37n;
      await fx.disputeManager.setParams({
        ...defaultParams().dispute,
        disputeBond: huge,
        // Bonds are uint96 (issue 17), and interval squatting must cost at least the bounty: with no
        // bounty the squatting bound leaves a collateral this large valid.
        commitBond: (1n << 96n) - 1n,
        challengerBps: 0,
        appealBond: huge,
        jurorLock: huge,
      });
      await fx.jobMarket.setCollateralParams(10_000, 5_000);
      await stakeAccount(fx.stakeManager, fx.stakeToken, fx.worker2, collateral);
      const id = await createJob(fx, { collateral });
      await fx.jobMarket.connect(fx.worker2).claimJob(id);
      await time.increase(3_601);
      const penalty = collateral / 2n;
      await expect(fx.jobMarket.expireClaim(id)).to.emit(fx.jobMarket, "ClaimExpired").withArgs(id, fx.worker2.address, penalty);
      expect(await fx.jobMarket.credits(await fx.stakeToken.getAddress(), fx.requester.address)).to.equal(penalty);
    });
  });

  describe("packed layout and narrow views", function () {
    it("getJob and jobTerms keep every field through claim and submission; the narrow views agree with them", async function () {
      const fx = await loadFixture(fixture);
      // The widest terms the bounds allow, stored in 8- and 32-bit fields.
      await fx.jobMarket.setAuditParams(32, 32, 0);
      await fx.jobMarket.setChallengeWindow(30n * 86_400n);
      // Extreme values next to each other in a slot: a wrong offset or width would bleed into a neighbour.
      const params = await jobParams(fx, {
        verificationFee: MAX128,
        collateral: REWARD + 7n,
        numBatches: (1n << 64n) - 1n,
        trainingDuration: 365n * 86_400n,
      });
      await fx.payToken.mint(fx.requester.address, MAX128);
      const id = await fx.jobMarket.nextJobId();
      await fx.jobMarket.connect(fx.requester).createJob(params);
      const createdAt = BigInt(await time.latest());

      const agree = async (): Promise<void> => {
        const j = await fx.jobMarket.getJob(id);
        const [status, worker, windowEnd, submittedBlock] = await fx.jobMarket.jobState(id);
        expect([status, worker, windowEnd, submittedBlock]).to.deep.equal([j.status, j.worker, j.windowEnd, j.submittedBlock]);
        expect([...(await fx.jobMarket.jobSteps(id))]).to.deep.equal([j.totalSteps, j.checkpointInterval]);
        expect([...(await fx.jobMarket.jobParties(id))]).to.deep.equal([j.requester, j.worker]);
        const t = await fx.jobMarket.jobTerms(id);
        expect([t.challengeWindow, t.auditorsPerJob, t.samplesPerAuditor]).to.deep.equal([30n * 86_400n, 32n, 32n]);
        expect([...(await fx.jobMarket.jobAuditShape(id))]).to.deep.equal([32n, 32n]);
        // §10.11 with the default rates: k steps and k+1 states for the interval, 2 and 2 for a juror.
        const timeout = (steps: bigint, states: bigint): bigint =>
          3_600n + (steps * BigInt(params.flopsPerStep)) / 1_000_000_000n + (states * BigInt(params.stateBytes)) / 10_000_000n;
        expect([t.pinpointTimeout, t.answerTimeout, t.revealTimeout]).to.deep.equal([
          timeout(BigInt(K), BigInt(K) + 1n),
          timeout(BigInt(K), BigInt(K) + 1n),
          timeout(2n, 2n),
        ]);
        expect([
          await fx.jobMarket.pinpointTimeout(id),
          await fx.jobMarket.answerTimeout(id),
          await fx.jobMarket.revealTimeout(id),
        ]).to.deep.equal([t.pinpointTimeout, t.answerTimeout, t.revealTimeout]);
        // Creation fields never move.
        expect(j.requester).to.equal(fx.requester.address);
        expect(j.paymentToken).to.equal(params.paymentToken);
        expect([j.reward, j.verificationFee, j.collateral]).to.deep.equal([REWARD, MAX128, REWARD + 7n]);
        expect([j.totalSteps, j.checkpointInterval, j.numBatches, j.flopsPerStep, j.stateBytes]).to.deep.equal([
          BigInt(T),
          BigInt(K),
          (1n << 64n) - 1n,
          BigInt(params.flopsPerStep),
          BigInt(params.stateBytes),
        ]);
        expect([j.claimDeadline, j.trainingDuration, j.createdAt]).to.deep.equal([BigInt(params.claimDeadline), 365n * 86_400n, createdAt]);
        expect([j.initialStateHash, j.dataRoot, j.specHash]).to.deep.equal([params.initialStateHash, params.dataRoot, params.specHash]);
        expect([j.openDisputes, j.refundedIntervals]).to.deep.equal([0n, 0n]);
      };

      await agree();
      expect((await fx.jobMarket.getJob(id)).status).to.equal(1n);
      await fx.jobMarket.connect(fx.worker).claimJob(id);
      const claimedAt = BigInt(await time.latest());
      await agree();
      const claimed = await fx.jobMarket.getJob(id);
      expect([claimed.status, claimed.worker, claimed.submitDeadline]).to.deep.equal([2n, fx.worker.address, claimedAt + 365n * 86_400n]);

      await mine(1);
      await submit(fx, id);
      const submittedAt = BigInt(await time.latest());
      const block = BigInt(await ethers.provider.getBlockNumber());
      await agree();
      const j = await fx.jobMarket.getJob(id);
      expect([j.status, j.submittedAt, j.submittedBlock, j.windowEnd]).to.deep.equal([3n, submittedAt, block, submittedAt + 30n * 86_400n]);
      expect([j.checkpointRoot, j.finalStateHash]).to.deep.equal([TRAJECTORY.checkpointRoot, TRAJECTORY.stateHashes[T]]);
      expect(j.submitDeadline).to.equal(claimedAt + 365n * 86_400n);

      await fx.jobMarket.connect(fx.disputer).onDisputeOpened(id);
      expect((await fx.jobMarket.getJob(id)).openDisputes).to.equal(1n);
      await fx.jobMarket.connect(fx.disputer).onIntervalRefunded(id);
      const refunded = await fx.jobMarket.getJob(id);
      expect(refunded.refundedIntervals).to.equal(1n);
      expect(refunded.reward).to.equal(REWARD - REWARD / BigInt(T / K));
      // The counters share slots with the requester and the token: neither moved.
      expect([refunded.requester, refunded.paymentToken, refunded.createdAt]).to.deep.equal([
        fx.requester.address,
        params.paymentToken,
        createdAt,
      ]);
    });

    it("StakeManager.freeStake (the claim's stake check) is account().free before and after a claim", async function () {
      const fx = await loadFixture(fixture);
      const sm = fx.stakeManager;
      const before = (await sm.account(fx.worker.address)).free;
      expect(await sm.freeStake(fx.worker.address)).to.equal(before);
      const id = await createJob(fx);
      await fx.jobMarket.connect(fx.worker).claimJob(id);
      const collateral = (await fx.jobMarket.getJob(id)).collateral;
      expect(await sm.freeStake(fx.worker.address)).to.equal((await sm.account(fx.worker.address)).free);
      expect(await sm.freeStake(fx.worker.address)).to.equal(before - collateral);
      expect(await sm.freeStake(fx.stranger.address)).to.equal(0n);
    });

    it("the narrow views of an unknown job read as empty", async function () {
      const fx = await loadFixture(fixture);
      expect([...(await fx.jobMarket.jobState(999n))]).to.deep.equal([0n, ethers.ZeroAddress, 0n, 0n]);
      expect([...(await fx.jobMarket.jobSteps(999n))]).to.deep.equal([0n, 0n]);
      expect([...(await fx.jobMarket.jobParties(999n))]).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress]);
      expect([...(await fx.jobMarket.jobAuditShape(999n))]).to.deep.equal([0n, 0n]);
    });
  });
});
