import { expect } from "chai";
import { anyUint } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  AUDITOR_PENALTY,
  AUDITOR_STAKE,
  E18,
  K,
  TRAJECTORY,
  createAndClaim,
  createClaimSubmit,
  createJob,
  deployJobsFixture,
  deployReentrantStakeFixture,
  drawAuditors,
  nextEpochCanary,
  passRevealPeriod,
  passWindow,
  sampleTs,
  stateHashes,
  submit,
  submittedWithAuditors,
  type JobsFixture,
} from "../helpers/jobs";
import { buildTrajectory, type Trajectory } from "../helpers/merkle";
import { AuditorState as State } from "../../verifier/protocol/enums";

const FEE = 10n * E18;
const BURN = "0x000000000000000000000000000000000000dEaD";
const DAY = 86_400n;
const SALT = ethers.id("salt");
const MISS_PENALTY = 10n * E18;
/** 64 audit intervals, so an 8-interval sample is a real subset. */
const BIG: Trajectory = buildTrajectory(stateHashes(128, "big"), 2);

describe("AuditManager", function () {
  async function fixture(): Promise<JobsFixture> {
    return deployJobsFixture();
  }

  /** The auditor's sample as a plain array (ethers' Result arrays are frozen). */
  async function sampleOf(fx: JobsFixture, jobId: bigint, who: string): Promise<bigint[]> {
    return [...(await fx.auditManager.sampleOf(jobId, who))];
  }

  async function attestAll(fx: JobsFixture, jobId: bigint, who: HardhatEthersSigner[]): Promise<void> {
    for (const a of who) await fx.auditManager.connect(a).attest(jobId, await sampleOf(fx, jobId, a.address));
  }

  describe("deployment", function () {
    it("sets roles, references and parameters", async function () {
      const fx = await loadFixture(fixture);
      const am = fx.auditManager;
      for (const role of [await am.DEFAULT_ADMIN_ROLE(), await am.GOVERNOR_ROLE()]) {
        expect(await am.hasRole(role, fx.admin.address)).to.equal(true);
      }
      expect(await am.jobMarket()).to.equal(await fx.jobMarket.getAddress());
      expect(await am.stakeManager()).to.equal(await fx.stakeManager.getAddress());
      expect(await am.canaryRegistry()).to.equal(await fx.canaryRegistry.getAddress());
      expect(await am.auditorPenalty()).to.equal(AUDITOR_PENALTY);
      expect(await am.missPenalty()).to.equal(MISS_PENALTY);
      expect(await am.canaryRevealPeriod()).to.equal(DAY);
      const tx = am.deploymentTransaction();
      if (tx === null) throw new Error("no deployment tx");
      await expect(tx).to.emit(am, "AuditorPenaltySet").withArgs(AUDITOR_PENALTY);
      await expect(tx).to.emit(am, "MissPenaltySet").withArgs(MISS_PENALTY);
      await expect(tx).to.emit(am, "CanaryRevealPeriodSet").withArgs(DAY);
    });

    it("reverts on zero addresses, a zero penalty and a miss penalty out of (0, auditorPenalty]", async function () {
      const fx = await loadFixture(fixture);
      const f = await ethers.getContractFactory("AuditManager");
      const [a, jm, sm, cr, z] = [fx.admin.address, fx.jobMarket, fx.stakeManager, fx.canaryRegistry, ethers.ZeroAddress];
      await expect(f.deploy(z, jm, sm, cr, 2, 1)).to.be.revertedWithCustomError(f, "AuditManagerZeroAddress");
      await expect(f.deploy(a, z, sm, cr, 2, 1)).to.be.revertedWithCustomError(f, "AuditManagerZeroAddress");
      await expect(f.deploy(a, jm, z, cr, 2, 1)).to.be.revertedWithCustomError(f, "AuditManagerZeroAddress");
      await expect(f.deploy(a, jm, sm, z, 2, 1)).to.be.revertedWithCustomError(f, "AuditManagerZeroAddress");
      await expect(f.deploy(a, jm, sm, cr, 0, 0))
        .to.be.revertedWithCustomError(f, "AuditManagerInvalidPenalty")
        .withArgs(0n);
      await expect(f.deploy(a, jm, sm, cr, 2, 0))
        .to.be.revertedWithCustomError(f, "AuditManagerInvalidMissPenalty")
        .withArgs(0n, 2n);
      await expect(f.deploy(a, jm, sm, cr, 2, 3))
        .to.be.revertedWithCustomError(f, "AuditManagerInvalidMissPenalty")
        .withArgs(3n, 2n);
      await expect(f.deploy(a, jm, sm, cr, 2, 2)).not.to.be.reverted;
    });
  });

  describe("drawAuditors", function () {
    it("draws A seats with replacement from the reserve weights, never the worker, and stores the seed", async function () {
      const fx = await loadFixture(fixture);
      const jobId = await createClaimSubmit(fx);
      await mine(1);
      const tx = fx.auditManager.connect(fx.stranger).drawAuditors(jobId);
      await tx;
      // Submitted well inside its epoch: the seed is the randomness of submittedBlock + drawDelay.
      const b = (await fx.jobMarket.getJob(jobId)).submittedBlock;
      const seed = (await ethers.provider.getBlock(Number(b + (await fx.auditManager.drawDelay()))))!.hash!;
      const auditors = await fx.auditManager.auditorsOf(jobId);
      const seats = await Promise.all(auditors.map((a) => fx.auditManager.auditorSeats(jobId, a)));
      await expect(tx).to.emit(fx.auditManager, "AuditorsAssigned").withArgs(jobId, seed, auditors, seats);
      expect(seats.reduce((x, y) => x + y, 0n)).to.equal(4n);
      expect(new Set(auditors).size).to.equal(auditors.length);
      expect(auditors).not.to.include(fx.worker.address);
      for (const a of auditors) {
        expect(await fx.auditManager.auditorState(jobId, a)).to.equal(State.Assigned);
        expect((await fx.stakeManager.account(a)).reserve).to.be.greaterThanOrEqual(AUDITOR_STAKE);
      }
      const audit = await fx.auditManager.getAudit(jobId);
      expect(audit.drawn).to.equal(true);
      expect(audit.seed).to.equal(seed);
      expect(audit.seats).to.equal(4n);
    });

    it("the packed auditor list (issue 17) keeps draw order and seats; the zero address and undrawn jobs list no one", async function () {
      const fx = await loadFixture(fixture);
      const jobId = await createClaimSubmit(fx);
      expect(await fx.auditManager.auditorsOf(jobId)).to.deep.equal([]);
      const assigned = await drawAuditors(fx, jobId, (seats) => seats.some((n) => n === 2n));
      const drawn = (await fx.auditManager.queryFilter(fx.auditManager.filters.AuditorsAssigned(jobId)))[0].args;
      expect(await fx.auditManager.auditorsOf(jobId)).to.deep.equal([...drawn.auditors]);
      expect(assigned.map((a) => a.address)).to.deep.equal([...drawn.auditors]);
      for (let i = 0; i < drawn.auditors.length; i++) {
        expect(await fx.auditManager.auditorSeats(jobId, drawn.auditors[i])).to.equal(drawn.seats[i]);
        expect(await fx.auditManager.isAuditor(jobId, drawn.auditors[i])).to.equal(true);
      }
      // The list's end marker is the zero address: it is never an auditor, and neither is the worker.
      expect(await fx.auditManager.isAuditor(jobId, ethers.ZeroAddress)).to.equal(false);
      expect(await fx.auditManager.auditorState(jobId, ethers.ZeroAddress)).to.equal(State.None);
      expect(await fx.auditManager.isAuditor(jobId, fx.worker.address)).to.equal(false);
      // Attesting, releasing and slashing change the state only, never the list.
      await attestAll(fx, jobId, assigned.slice(0, 1));
      expect(await fx.auditManager.auditorsOf(jobId)).to.deep.equal([...drawn.auditors]);
      expect(await fx.auditManager.auditorSeats(jobId, assigned[0].address)).to.equal(drawn.seats[0]);
    });

    it("fills every seat from the reserve pool even when it has fewer accounts than seats", async function () {
      const fx = await loadFixture(fixture);
      await fx.jobMarket.setAuditParams(32, 8, 3_000);
      const jobId = await createClaimSubmit(fx);
      const assigned = await drawAuditors(fx, jobId, () => true);
      // Six auditors hold a reserve (the workers only free stake): 32 seats over at most six accounts.
      expect(assigned.length).to.be.at.most(6);
      expect((await fx.auditManager.getAudit(jobId)).seats).to.equal(32n);
      for (const a of assigned) expect(fx.auditors.map((x) => x.address)).to.include(a.address);
    });

    it("is scheduled at submission; reverts AuditManagerDrawNotReady until the seed block is mined", async function () {
      const fx = await loadFixture(fixture);
      const jobId = await fx.jobMarket.nextJobId();
      await createAndClaim(fx);
      const epoch = await fx.stakeManager.currentEpoch();
      // The submission's own block (reading "latest" beside an unawaited send raced it under load).
      const tx = await submit(fx, jobId);
      const b = BigInt((await tx.wait())!.blockNumber);
      await expect(tx)
        .to.emit(fx.auditManager, "AuditDrawScheduled")
        .withArgs(jobId, epoch, b + 1n);
      expect(await fx.auditManager.canDraw(jobId)).to.equal(false);
      await expect(fx.auditManager.drawAuditors(jobId))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerDrawNotReady")
        .withArgs(jobId, epoch, b + 1n);
      await mine(1);
      expect(await fx.auditManager.canDraw(jobId)).to.equal(true);
      await expect(fx.auditManager.drawAuditors(jobId)).to.emit(fx.auditManager, "AuditorsAssigned");
      expect(await fx.auditManager.canDraw(jobId)).to.equal(false);
    });

    it("re-schedules a seed that expired unread, or whose epoch is over; defers a submission at an epoch's end", async function () {
      const fx = await loadFixture(fixture);
      const am = fx.auditManager;
      // Expired: the seed block is older than the source can see.
      const expired = await createClaimSubmit(fx);
      await mine(300);
      expect(await am.canDraw(expired)).to.equal(true);
      const now = BigInt(await ethers.provider.getBlockNumber());
      await expect(am.drawAuditors(expired))
        .to.emit(am, "AuditDrawScheduled")
        .withArgs(expired, await fx.stakeManager.currentEpoch(), now + 2n);
      // Epoch over: submitted just before the draw window of its epoch, drawn just after the epoch ended.
      const drawWindow = await fx.stakeManager.drawWindow();
      const end1 = await fx.stakeManager.epochStart((await fx.stakeManager.currentEpoch()) + 1n);
      await time.increaseTo(end1 - drawWindow - 30n);
      const late = await createClaimSubmit(fx);
      const sched = await am.getAudit(late);
      expect(sched.drawTarget).to.be.greaterThan(0n);
      await time.increaseTo(end1);
      expect(await am.canDraw(late)).to.equal(true);
      await expect(am.drawAuditors(late))
        .to.emit(am, "AuditDrawScheduled")
        .withArgs(late, sched.drawEpoch + 1n, anyUint);
      // Submitted with less than drawWindow of its epoch left: the draw waits for the next epoch.
      const end = await fx.stakeManager.epochStart((await fx.stakeManager.currentEpoch()) + 1n);
      await time.increaseTo(end - drawWindow + 1n);
      const deferred = await createClaimSubmit(fx);
      const d = await am.getAudit(deferred);
      expect([d.drawEpoch, d.drawTarget]).to.deep.equal([(await fx.stakeManager.currentEpoch()) + 1n, 0n]);
      expect(await am.canDraw(deferred)).to.equal(false);
      await expect(am.drawAuditors(deferred))
        .to.be.revertedWithCustomError(am, "AuditManagerDrawNotReady")
        .withArgs(deferred, d.drawEpoch, 0n);
      await time.increaseTo(end);
      expect(await am.canDraw(deferred)).to.equal(true);
      await expect(am.drawAuditors(deferred)).to.emit(am, "AuditDrawScheduled").withArgs(deferred, d.drawEpoch, anyUint);
      await mine(2);
      await expect(am.drawAuditors(deferred)).to.emit(am, "AuditorsAssigned");
    });

    it("canDraw is false outside a Submitted job's window; onJobSubmitted is the JobMarket's alone", async function () {
      const fx = await loadFixture(fixture);
      const open = await createJob(fx);
      expect(await fx.auditManager.canDraw(open)).to.equal(false);
      const jobId = await createClaimSubmit(fx);
      await passWindow(fx, jobId);
      expect(await fx.auditManager.canDraw(jobId)).to.equal(false);
      await expect(fx.auditManager.onJobSubmitted(jobId)).to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotJobMarket");
    });

    it("setDrawDelay: governor only, 1..256, emits DrawDelaySet", async function () {
      const fx = await loadFixture(fixture);
      await expect(fx.auditManager.connect(fx.stranger).setDrawDelay(5)).to.be.revertedWithCustomError(
        fx.auditManager,
        "AccessControlUnauthorizedAccount",
      );
      for (const bad of [0, 257]) {
        await expect(fx.auditManager.setDrawDelay(bad))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerInvalidDrawDelay")
          .withArgs(bad);
      }
      await expect(fx.auditManager.setDrawDelay(256)).to.emit(fx.auditManager, "DrawDelaySet").withArgs(256);
      expect(await fx.auditManager.drawDelay()).to.equal(256n);
    });

    it("an auditor holding two seats samples 2·s intervals, locks 2·auditorPenalty and earns two fee shares", async function () {
      const fx = await loadFixture(fixture);
      const jobId = await createClaimSubmit(fx, BIG);
      const assigned = await drawAuditors(fx, jobId, (seats) => seats.some((n) => n === 2n));
      let a: HardhatEthersSigner | undefined;
      for (const x of assigned) if ((await fx.auditManager.auditorSeats(jobId, x.address)) === 2n) a = x;
      if (a === undefined) throw new Error("no auditor drew two seats in 100 tries");
      const sample = await sampleOf(fx, jobId, a.address);
      expect(sample.length).to.equal(16);
      await expect(fx.auditManager.connect(a).attest(jobId, sample))
        .to.emit(fx.stakeManager, "Locked")
        .withArgs(a.address, await fx.auditManager.auditorLockId(jobId, a.address), 2n * AUDITOR_PENALTY, false);
      await passRevealPeriod(fx, jobId);
      await fx.jobMarket.finalize(jobId);
      const share = (await fx.auditManager.getAudit(jobId)).feeShare;
      await expect(fx.auditManager.releaseAttester(jobId, a.address))
        .to.emit(fx.auditManager, "AttesterReleased")
        .withArgs(jobId, a.address, 2n * share);
    });

    it("reverts when drawn already", async function () {
      const fx = await loadFixture(fixture);
      const { jobId } = await submittedWithAuditors(fx);
      await expect(fx.auditManager.drawAuditors(jobId))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerAlreadyDrawn")
        .withArgs(jobId);
    });

    it("reverts unless the job is Submitted with its window open", async function () {
      const fx = await loadFixture(fixture);
      const open = await createJob(fx);
      await expect(fx.auditManager.drawAuditors(open))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerWrongStatus")
        .withArgs(open, 1);
      const jobId = await createClaimSubmit(fx);
      await passWindow(fx, jobId);
      const windowEnd = (await fx.jobMarket.getJob(jobId)).windowEnd;
      await expect(fx.auditManager.drawAuditors(jobId))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerWindowClosed")
        .withArgs(jobId, windowEnd);
    });
  });

  describe("sampleOf", function () {
    it("is the docs/encoding.md sample: min(s, n−1) distinct intervals from the audit seed", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx, BIG);
      const seed = (await fx.auditManager.getAudit(jobId)).seed;
      for (const a of assigned) {
        const sample = await sampleOf(fx, jobId, a.address);
        expect(sample).to.deep.equal(sampleTs(seed, jobId, a.address, 8, 64));
        expect(sample.length).to.equal(8);
      }
      // four intervals and eight samples: every interval exactly once
      const small = await submittedWithAuditors(fx);
      const s = await sampleOf(fx, small.jobId, small.assigned[0].address);
      expect([...s].sort()).to.deep.equal([0n, 1n, 2n, 3n]);
    });

    it("reverts before auditors are drawn", async function () {
      const fx = await loadFixture(fixture);
      const jobId = await createClaimSubmit(fx);
      await expect(fx.auditManager.sampleOf(jobId, fx.stranger.address))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotDrawn")
        .withArgs(jobId);
    });
  });

  describe("attest", function () {
    it("locks the auditor penalty and records the sample", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx, BIG);
      const a = assigned[0];
      const sample = await sampleOf(fx, jobId, a.address);
      const hash = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint256[]"], [sample]));
      const lockId = await fx.auditManager.auditorLockId(jobId, a.address);
      expect(lockId).to.equal(
        ethers.keccak256(
          ethers.AbiCoder.defaultAbiCoder().encode(
            ["address", "uint256", "address"],
            [await fx.auditManager.getAddress(), jobId, a.address],
          ),
        ),
      );
      const tx = fx.auditManager.connect(a).attest(jobId, sample);
      await expect(tx).to.emit(fx.auditManager, "Attested").withArgs(jobId, a.address, hash, sample);
      await expect(tx).to.emit(fx.stakeManager, "Locked").withArgs(a.address, lockId, AUDITOR_PENALTY, false);
      expect(await fx.auditManager.auditorState(jobId, a.address)).to.equal(State.Attested);
      expect((await fx.auditManager.getAudit(jobId)).attesters).to.equal(1n);
      expect(await fx.stakeManager.lockedAmount(a.address, lockId)).to.equal(AUDITOR_PENALTY);
    });

    it("reverts for an unassigned account and for a second attestation", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx);
      const sample = await sampleOf(fx, jobId, fx.stranger.address);
      await expect(fx.auditManager.connect(fx.stranger).attest(jobId, sample))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotAssigned")
        .withArgs(jobId, fx.stranger.address);
      await attestAll(fx, jobId, [assigned[0]]);
      await expect(fx.auditManager.connect(assigned[0]).attest(jobId, await sampleOf(fx, jobId, assigned[0].address)))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotAssigned")
        .withArgs(jobId, assigned[0].address);
    });

    it("reverts when the named sample is not the auditor's sample", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx, BIG);
      const a = assigned[0];
      const sample = await sampleOf(fx, jobId, a.address);
      const bad = [[...sample].reverse(), sample.slice(1), [...sample, 63n], await sampleOf(fx, jobId, assigned[1].address)];
      for (const s of bad) {
        await expect(fx.auditManager.connect(a).attest(jobId, s))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerSampleMismatch")
          .withArgs(jobId, a.address);
      }
    });

    it("reverts after the window and when the auditor lacks free stake", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx);
      const a = assigned.find((x) => fx.auditors.some((y) => y.address === x.address));
      if (a === undefined) throw new Error("no fixture auditor drawn");
      const sample = await sampleOf(fx, jobId, a.address);
      await fx.auditManager.setAuditorPenalty(AUDITOR_STAKE + 1n);
      await expect(fx.auditManager.connect(a).attest(jobId, sample))
        .to.be.revertedWithCustomError(fx.stakeManager, "StakeManagerInsufficientFreeStake")
        .withArgs(a.address, AUDITOR_STAKE, AUDITOR_STAKE + 1n);
      await passWindow(fx, jobId);
      await expect(fx.auditManager.connect(a).attest(jobId, sample))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerWindowClosed")
        .withArgs(jobId, (await fx.jobMarket.getJob(jobId)).windowEnd);
    });
  });

  describe("fee split and release", function () {
    it("splits the fee per assigned auditor: attesters earn a share, the rest goes to the requester", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx);
      await attestAll(fx, jobId, assigned.slice(0, 3));
      await passWindow(fx, jobId);
      const pay = await fx.payToken.getAddress();
      const share = FEE / 4n;
      const tx = fx.jobMarket.finalize(jobId);
      await expect(tx).to.emit(fx.auditManager, "AuditSettled").withArgs(jobId, true, share, 3n);
      await expect(tx)
        .to.emit(fx.auditManager, "Credited")
        .withArgs(pay, fx.requester.address, FEE - 3n * share);
      const audit = await fx.auditManager.getAudit(jobId);
      expect([audit.settled, audit.paid, audit.feeToken, audit.feeShare, audit.requester]).to.deep.equal([
        true,
        true,
        pay,
        share,
        fx.requester.address,
      ]);

      await passRevealPeriod(fx, jobId);
      for (const a of assigned.slice(0, 3)) {
        const lockId = await fx.auditManager.auditorLockId(jobId, a.address);
        const r = fx.auditManager.connect(fx.stranger).releaseAttester(jobId, a.address);
        await expect(r).to.emit(fx.auditManager, "AttesterReleased").withArgs(jobId, a.address, share);
        await expect(r).to.emit(fx.auditManager, "Credited").withArgs(pay, a.address, share);
        await expect(r).to.emit(fx.stakeManager, "Unlocked").withArgs(a.address, lockId, AUDITOR_PENALTY);
        expect(await fx.auditManager.auditorState(jobId, a.address)).to.equal(State.Released);
        await expect(fx.auditManager.connect(a).withdraw(pay)).to.changeTokenBalance(fx.payToken, a, share);
      }
      await fx.auditManager.connect(fx.requester).withdraw(pay);
      expect(await fx.payToken.balanceOf(await fx.auditManager.getAddress())).to.equal(0n);
    });

    it("a stale fee read cannot shift the split: the share read back from the JobMarket at release equals finalization's, after an interval refund", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx);
      await attestAll(fx, jobId, assigned);
      expect((await fx.auditManager.getAudit(jobId)).feeShare).to.equal(0n); // not settled: nothing to read
      await fx.jobMarket.connect(fx.disputer).onIntervalRefunded(jobId); // changes the reward, never the fee
      await passWindow(fx, jobId);
      const pay = await fx.payToken.getAddress();
      const share = FEE / 4n;
      const tx = fx.jobMarket.finalize(jobId);
      await expect(tx).to.emit(fx.auditManager, "AuditSettled").withArgs(jobId, true, share, 4n);
      // All four seats attested and the fee divides: no zero credit for the requester.
      await expect(tx).not.to.emit(fx.auditManager, "Credited");
      const audit = await fx.auditManager.getAudit(jobId);
      expect([audit.feeToken, audit.feeShare, audit.requester, audit.convictedInterval]).to.deep.equal([
        pay,
        share,
        fx.requester.address,
        0n,
      ]);
      await passRevealPeriod(fx, jobId);
      for (const a of assigned) {
        await expect(fx.auditManager.releaseAttester(jobId, a.address))
          .to.emit(fx.auditManager, "AttesterReleased")
          .withArgs(jobId, a.address, share);
      }
      expect(await fx.payToken.balanceOf(await fx.auditManager.getAddress())).to.equal(4n * share);
    });

    it("gives the integer remainder to the requester", async function () {
      const fx = await loadFixture(fixture);
      const fee = 10n * E18 + 3n;
      const jobId = await createJob(fx, { verificationFee: fee });
      await fx.jobMarket.connect(fx.worker).claimJob(jobId);
      await submit(fx, jobId);
      const assigned = await drawAuditors(fx, jobId);
      await attestAll(fx, jobId, assigned);
      await passWindow(fx, jobId);
      const share = fee / 4n;
      await expect(fx.jobMarket.finalize(jobId))
        .to.emit(fx.auditManager, "Credited")
        .withArgs(await fx.payToken.getAddress(), fx.requester.address, 3n);
      expect(share * 4n + 3n).to.equal(fee);
    });

    it("after a rejection that names no interval releases attesters whole, without a fee, once the reveal period is over", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx);
      await attestAll(fx, jobId, assigned.slice(0, 1));
      await fx.jobMarket.connect(fx.disputer).onWorkerConvicted(jobId, fx.disputer.address, ethers.MaxUint256);
      // Any job may be a canary (v3 V11.1): even a rejected one's attesters wait for the reveal period.
      await expect(fx.auditManager.releaseAttester(jobId, assigned[0].address))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerCanaryPending")
        .withArgs(jobId, (await fx.jobMarket.getJob(jobId)).windowEnd + DAY);
      await passRevealPeriod(fx, jobId);
      const r = fx.auditManager.releaseAttester(jobId, assigned[0].address);
      await expect(r).not.to.emit(fx.auditManager, "AttesterMissed");
      await expect(r).to.emit(fx.auditManager, "AttesterReleased").withArgs(jobId, assigned[0].address, 0n);
      await expect(r).not.to.emit(fx.auditManager, "Credited");
      expect((await fx.stakeManager.account(assigned[0].address)).locked).to.equal(0n);
    });

    it("after a rejection on interval i burns missPenalty of each attester whose sample contained i (v3 V11.2)", async function () {
      const fx = await loadFixture(fixture);
      // The draw follows block hashes, which differ between runs: every sample can hold the same
      // interval. Post jobs until one draw has a sample without i.
      let drawn = await submittedWithAuditors(fx, BIG);
      let samples = await Promise.all(drawn.assigned.map((a) => sampleOf(fx, drawn.jobId, a.address)));
      for (let attempt = 1; attempt < 12 && samples.every((x) => x.includes(samples[0]![0]!)); attempt++) {
        drawn = await submittedWithAuditors(fx, BIG);
        samples = await Promise.all(drawn.assigned.map((a) => sampleOf(fx, drawn.jobId, a.address)));
      }
      const { jobId, assigned } = drawn;
      await attestAll(fx, jobId, assigned);
      const i = samples[0]![0]!;
      expect(
        samples.some((x) => !x.includes(i)),
        "some sample misses i",
      ).to.equal(true);
      await fx.jobMarket.connect(fx.disputer).onWorkerConvicted(jobId, fx.disputer.address, i);
      expect((await fx.auditManager.getAudit(jobId)).convictedInterval).to.equal(i);
      await passRevealPeriod(fx, jobId);
      for (const [n, a] of assigned.entries()) {
        const lockId = await fx.auditManager.auditorLockId(jobId, a.address);
        const r = fx.auditManager.releaseAttester(jobId, a.address);
        if (samples[n].includes(i)) {
          await expect(r).to.emit(fx.auditManager, "AttesterMissed").withArgs(jobId, a.address, i, MISS_PENALTY);
          await expect(r).to.emit(fx.stakeManager, "Slashed").withArgs(a.address, lockId, MISS_PENALTY, BURN);
          await expect(r)
            .to.emit(fx.stakeManager, "Unlocked")
            .withArgs(a.address, lockId, AUDITOR_PENALTY - MISS_PENALTY);
          await expect(r).to.changeTokenBalance(fx.stakeToken, BURN, MISS_PENALTY);
        } else {
          await expect(r).not.to.emit(fx.auditManager, "AttesterMissed");
          await expect(r).to.emit(fx.stakeManager, "Unlocked").withArgs(a.address, lockId, AUDITOR_PENALTY);
        }
        await expect(r).to.emit(fx.auditManager, "AttesterReleased").withArgs(jobId, a.address, 0n);
        expect((await fx.stakeManager.account(a.address)).locked).to.equal(0n);
      }
    });

    it("a miss penalty raised after the attestation takes at most the lock", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx);
      await attestAll(fx, jobId, assigned.slice(0, 1));
      await fx.auditManager.setAuditorPenalty(2n * AUDITOR_PENALTY);
      await fx.auditManager.setMissPenalty(2n * AUDITOR_PENALTY);
      await fx.jobMarket.connect(fx.disputer).onWorkerConvicted(jobId, fx.disputer.address, 1n); // 4 intervals: every sample has 1
      await passRevealPeriod(fx, jobId);
      const a = assigned[0];
      const before = await fx.stakeManager.account(a.address);
      await expect(fx.auditManager.releaseAttester(jobId, a.address))
        .to.emit(fx.auditManager, "AttesterMissed")
        .withArgs(jobId, a.address, 1n, AUDITOR_PENALTY);
      const after = await fx.stakeManager.account(a.address);
      expect([after.free, after.locked]).to.deep.equal([before.free, 0n]); // the whole lock is gone
    });

    it("reverts before the job is settled, for non-attesters and when released twice", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx);
      await attestAll(fx, jobId, assigned.slice(0, 1));
      const [a, b] = assigned;
      await expect(fx.auditManager.releaseAttester(jobId, a.address))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotSettled")
        .withArgs(jobId);
      await passWindow(fx, jobId);
      await fx.jobMarket.finalize(jobId);
      await expect(fx.auditManager.releaseAttester(jobId, b.address))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotAttested")
        .withArgs(jobId, b.address);
      await passRevealPeriod(fx, jobId);
      await fx.auditManager.releaseAttester(jobId, a.address);
      await expect(fx.auditManager.releaseAttester(jobId, a.address))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotAttested")
        .withArgs(jobId, a.address);
    });

    it("hooks are JobMarket only", async function () {
      const fx = await loadFixture(fixture);
      const pay = await fx.payToken.getAddress();
      await expect(fx.auditManager.connect(fx.stranger).onJobFinalized(1n, pay, 1n, fx.stranger.address))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotJobMarket")
        .withArgs(fx.stranger.address);
      await expect(fx.auditManager.connect(fx.stranger).onJobRejected(1n, 0n))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotJobMarket")
        .withArgs(fx.stranger.address);
    });

    it("withdraw reverts without credit", async function () {
      const fx = await loadFixture(fixture);
      const pay = await fx.payToken.getAddress();
      await expect(fx.auditManager.connect(fx.stranger).withdraw(pay))
        .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNothingToWithdraw")
        .withArgs(pay, fx.stranger.address);
    });
  });

  describe("canaries", function () {
    const SPEC = ethers.id("canary-spec");
    /** Fault global steps of the given intervals (the first step of each; interval = step / k). */
    const steps = (intervals: bigint[], k = BigInt(K)) => intervals.map((i) => i * k);

    /** Commits a canary `(SPEC, faultSteps, SALT)` for the next epoch, then creates (in that epoch),
     * claims, submits and draws auditors of a job with that spec. */
    async function canary(fx: JobsFixture, faultSteps: bigint[], traj: Trajectory = TRAJECTORY, want?: (seats: bigint[]) => boolean) {
      const { proof } = await nextEpochCanary(fx.canaryRegistry, SPEC, faultSteps, SALT, [
        { specHash: ethers.id("other"), faultSteps: [], salt: SALT },
      ]);
      const k = (traj.stateHashes.length - 1) / (traj.checkpointLeaves.length - 1);
      const jobId = await createJob(fx, {
        totalSteps: traj.stateHashes.length - 1,
        checkpointInterval: k,
        initialStateHash: traj.stateHashes[0],
        specHash: SPEC,
      });
      await fx.jobMarket.connect(fx.worker).claimJob(jobId);
      await submit(fx, jobId, traj);
      const assigned = await drawAuditors(fx, jobId, want);
      return { jobId, assigned, proof };
    }

    describe("revealCanary", function () {
      it("reveals the committed fault steps after the window, against the epoch root", async function () {
        const fx = await loadFixture(fixture);
        const faults = steps([0n, 2n]);
        const { jobId, proof } = await canary(fx, faults);
        await passWindow(fx, jobId);
        await expect(fx.auditManager.connect(fx.stranger).revealCanary(jobId, faults, SALT, proof))
          .to.emit(fx.auditManager, "CanaryRevealed")
          .withArgs(jobId, faults);
        expect(await fx.auditManager.canaryFaults(jobId)).to.deep.equal(faults);
        expect((await fx.auditManager.getAudit(jobId)).canaryRevealed).to.equal(true);
        await expect(fx.auditManager.revealCanary(jobId, faults, SALT, proof))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerCanaryAlreadyRevealed")
          .withArgs(jobId);
      });

      it("reverts before submission and inside the window", async function () {
        const fx = await loadFixture(fixture);
        const { proof } = await nextEpochCanary(fx.canaryRegistry, SPEC, [1n], SALT);
        const jobId = await createJob(fx, { specHash: SPEC });
        await expect(fx.auditManager.revealCanary(jobId, [1n], SALT, proof))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerWindowOpen")
          .withArgs(jobId, 0n);
        await fx.jobMarket.connect(fx.worker).claimJob(jobId);
        await submit(fx, jobId);
        const windowEnd = (await fx.jobMarket.getJob(jobId)).windowEnd;
        await time.setNextBlockTimestamp(windowEnd);
        await expect(fx.auditManager.revealCanary(jobId, [1n], SALT, proof))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerWindowOpen")
          .withArgs(jobId, windowEnd);
      });

      it("reverts after the reveal period, for too many faults and for a leaf that is not in the epoch root", async function () {
        const fx = await loadFixture(fixture);
        const faults = [1n];
        const { jobId, proof } = await canary(fx, faults);
        await passWindow(fx, jobId);
        const many = Array.from({ length: 33 }, (_, i) => BigInt(i));
        await expect(fx.auditManager.revealCanary(jobId, many, SALT, proof))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerTooManyFaults")
          .withArgs(33n, 32n);
        await expect(fx.auditManager.revealCanary(jobId, [2n], SALT, proof))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerBadReveal")
          .withArgs(jobId);
        await expect(fx.auditManager.revealCanary(jobId, faults, ethers.id("other"), proof)).to.be.revertedWithCustomError(
          fx.auditManager,
          "AuditManagerBadReveal",
        );
        await expect(fx.auditManager.revealCanary(jobId, faults, SALT, [])).to.be.revertedWithCustomError(
          fx.auditManager,
          "AuditManagerBadReveal",
        );
        const deadline = (await fx.jobMarket.getJob(jobId)).windowEnd + DAY;
        await time.increaseTo(deadline + 1n);
        await expect(fx.auditManager.revealCanary(jobId, faults, SALT, proof))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerRevealPeriodOver")
          .withArgs(jobId, deadline);
      });

      it("refuses a job of another spec, or created in an epoch without a root", async function () {
        const fx = await loadFixture(fixture);
        const { proof } = await nextEpochCanary(fx.canaryRegistry, SPEC, [1n], SALT);
        const otherSpec = await createClaimSubmit(fx); // same epoch, other spec
        await passWindow(fx, otherSpec);
        await expect(fx.auditManager.revealCanary(otherSpec, [1n], SALT, proof))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerBadReveal")
          .withArgs(otherSpec);
        await time.increase(await fx.canaryRegistry.epochLength()); // the next epoch has no root
        const sameSpecLater = await createJob(fx, { specHash: SPEC });
        await fx.jobMarket.connect(fx.worker).claimJob(sameSpecLater);
        await submit(fx, sameSpecLater);
        await passWindow(fx, sameSpecLater);
        await expect(fx.auditManager.revealCanary(sameSpecLater, [1n], SALT, proof))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerBadReveal")
          .withArgs(sameSpecLater);
      });
    });

    describe("slashCaughtAttester and release on canaries", function () {
      it("slashes every attester whose sample hit a fault, to BURN, and credits its share to the requester", async function () {
        const fx = await loadFixture(fixture);
        const faults = steps([0n, 1n, 2n, 3n]).map((s) => s + 1n); // a fault in every interval (second step): every sample hits
        const { jobId, assigned, proof } = await canary(fx, faults);
        await attestAll(fx, jobId, assigned.slice(0, 2));
        await passWindow(fx, jobId);
        await fx.jobMarket.finalize(jobId);
        await expect(fx.auditManager.releaseAttester(jobId, assigned[0].address))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerCanaryPending")
          .withArgs(jobId, (await fx.jobMarket.getJob(jobId)).windowEnd + DAY);
        await fx.auditManager.revealCanary(jobId, faults, SALT, proof);
        const a = assigned[0];
        await expect(fx.auditManager.releaseAttester(jobId, a.address))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerAttesterCaught")
          .withArgs(jobId, a.address);
        const lockId = await fx.auditManager.auditorLockId(jobId, a.address);
        const share = FEE / 4n;
        const tx = fx.auditManager.connect(fx.stranger).slashCaughtAttester(jobId, a.address);
        await expect(tx).to.emit(fx.auditManager, "AttesterSlashed").withArgs(jobId, a.address, AUDITOR_PENALTY);
        await expect(tx).to.emit(fx.stakeManager, "Slashed").withArgs(a.address, lockId, AUDITOR_PENALTY, BURN);
        await expect(tx)
          .to.emit(fx.auditManager, "Credited")
          .withArgs(await fx.payToken.getAddress(), fx.requester.address, share);
        await expect(tx).to.changeTokenBalance(fx.stakeToken, BURN, AUDITOR_PENALTY);
        expect(await fx.auditManager.auditorState(jobId, a.address)).to.equal(State.Slashed);
        await expect(fx.auditManager.slashCaughtAttester(jobId, a.address))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNotAttested")
          .withArgs(jobId, a.address);
        // conservation: after everyone is paid out the AuditManager holds nothing
        await fx.auditManager.slashCaughtAttester(jobId, assigned[1].address);
        const pay = await fx.payToken.getAddress();
        expect(await fx.auditManager.credits(pay, fx.requester.address)).to.equal(FEE);
        await fx.auditManager.connect(fx.requester).withdraw(pay);
        expect(await fx.payToken.balanceOf(await fx.auditManager.getAddress())).to.equal(0n);
      });

      it("leaves a slashed attester out of a later fee split", async function () {
        const fx = await loadFixture(fixture);
        const faults = steps([0n, 1n, 2n, 3n]);
        const { jobId, assigned, proof } = await canary(fx, faults);
        await attestAll(fx, jobId, assigned.slice(0, 2));
        await fx.jobMarket.connect(fx.disputer).onDisputeOpened(jobId);
        await passWindow(fx, jobId);
        await fx.auditManager.revealCanary(jobId, faults, SALT, proof);
        const tx = fx.auditManager.slashCaughtAttester(jobId, assigned[0].address);
        await expect(tx).not.to.emit(fx.auditManager, "Credited");
        expect((await fx.auditManager.getAudit(jobId)).attesters).to.equal(1n);
        await fx.jobMarket.connect(fx.disputer).onDisputeClosed(jobId);
        const share = FEE / 4n;
        await expect(fx.jobMarket.finalize(jobId))
          .to.emit(fx.auditManager, "Credited")
          .withArgs(await fx.payToken.getAddress(), fx.requester.address, FEE - share);
        // the other attester also hit (every interval is faulty): slashed after the split, its share follows
        await expect(fx.auditManager.slashCaughtAttester(jobId, assigned[1].address))
          .to.emit(fx.auditManager, "Credited")
          .withArgs(await fx.payToken.getAddress(), fx.requester.address, share);
        expect(await fx.auditManager.credits(await fx.payToken.getAddress(), fx.requester.address)).to.equal(FEE);
      });

      /** A canary job with every interval faulty whose draw seated someone twice; that auditor. */
      async function twoSeatCanary(fx: JobsFixture) {
        const faults = steps([0n, 1n, 2n, 3n]);
        const { jobId, assigned, proof } = await canary(fx, faults, TRAJECTORY, (seats) => seats.some((n) => n === 2n));
        let a: HardhatEthersSigner | undefined;
        for (const x of assigned) if ((await fx.auditManager.auditorSeats(jobId, x.address)) === 2n) a = x;
        if (a === undefined) throw new Error("no auditor drew two seats in 100 tries");
        return { jobId, a, faults, proof };
      }

      it("a two-seat attester caught after the fee split: both its shares go to the requester, none stranded", async function () {
        const fx = await loadFixture(fixture);
        const { jobId, a, faults, proof } = await twoSeatCanary(fx);
        await fx.auditManager.connect(a).attest(jobId, await sampleOf(fx, jobId, a.address));
        await passWindow(fx, jobId);
        await fx.jobMarket.finalize(jobId);
        const pay = await fx.payToken.getAddress();
        const share = FEE / 4n;
        expect(await fx.auditManager.credits(pay, fx.requester.address)).to.equal(FEE - 2n * share);
        await fx.auditManager.revealCanary(jobId, faults, SALT, proof);
        await expect(fx.auditManager.slashCaughtAttester(jobId, a.address))
          .to.emit(fx.auditManager, "Credited")
          .withArgs(pay, fx.requester.address, 2n * share);
        expect(await fx.auditManager.credits(pay, fx.requester.address)).to.equal(FEE);
        await fx.auditManager.connect(fx.requester).withdraw(pay);
        expect(await fx.payToken.balanceOf(await fx.auditManager.getAddress())).to.equal(0n);
      });

      it("a two-seat attester caught before the fee split: both its seats leave the split, none stranded", async function () {
        const fx = await loadFixture(fixture);
        const { jobId, a, faults, proof } = await twoSeatCanary(fx);
        await fx.auditManager.connect(a).attest(jobId, await sampleOf(fx, jobId, a.address));
        expect((await fx.auditManager.getAudit(jobId)).attesters).to.equal(2n);
        await fx.jobMarket.connect(fx.disputer).onDisputeOpened(jobId);
        await passWindow(fx, jobId);
        await fx.auditManager.revealCanary(jobId, faults, SALT, proof);
        await expect(fx.auditManager.slashCaughtAttester(jobId, a.address)).not.to.emit(fx.auditManager, "Credited");
        expect((await fx.auditManager.getAudit(jobId)).attesters).to.equal(0n);
        await fx.jobMarket.connect(fx.disputer).onDisputeClosed(jobId);
        const pay = await fx.payToken.getAddress();
        await expect(fx.jobMarket.finalize(jobId)).to.emit(fx.auditManager, "Credited").withArgs(pay, fx.requester.address, FEE);
        await fx.auditManager.connect(fx.requester).withdraw(pay);
        expect(await fx.payToken.balanceOf(await fx.auditManager.getAddress())).to.equal(0n);
      });

      it("releases attesters that missed every fault and refuses to slash them", async function () {
        const fx = await loadFixture(fixture);
        const { jobId, assigned, proof } = await canary(fx, []);
        await attestAll(fx, jobId, assigned.slice(0, 1));
        await passWindow(fx, jobId);
        await fx.jobMarket.finalize(jobId);
        await fx.auditManager.revealCanary(jobId, [], SALT, proof);
        const a = assigned[0];
        await expect(fx.auditManager.slashCaughtAttester(jobId, a.address))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerNoFaultHit")
          .withArgs(jobId, a.address);
        // revealed: no need to wait for the reveal period
        await expect(fx.auditManager.releaseAttester(jobId, a.address))
          .to.emit(fx.auditManager, "AttesterReleased")
          .withArgs(jobId, a.address, FEE / 4n);
      });

      it("decides hits per attester exactly as the sample says (64 intervals, half faulty)", async function () {
        const fx = await loadFixture(fixture);
        const faultIntervals = Array.from({ length: 32 }, (_, i) => BigInt(2 * i + 1));
        const faults = steps(faultIntervals);
        const { jobId, assigned, proof } = await canary(fx, faults, BIG);
        await attestAll(fx, jobId, assigned);
        await passWindow(fx, jobId);
        await fx.jobMarket.finalize(jobId);
        await fx.auditManager.revealCanary(jobId, faults, SALT, proof);
        const seed = (await fx.auditManager.getAudit(jobId)).seed;
        for (const a of assigned) {
          const hit = sampleTs(seed, jobId, a.address, 8, 64).some((i) => faultIntervals.includes(i));
          if (hit) {
            await expect(fx.auditManager.releaseAttester(jobId, a.address)).to.be.revertedWithCustomError(
              fx.auditManager,
              "AuditManagerAttesterCaught",
            );
            await expect(fx.auditManager.slashCaughtAttester(jobId, a.address)).to.emit(fx.auditManager, "AttesterSlashed");
          } else {
            await expect(fx.auditManager.slashCaughtAttester(jobId, a.address)).to.be.revertedWithCustomError(
              fx.auditManager,
              "AuditManagerNoFaultHit",
            );
            await expect(fx.auditManager.releaseAttester(jobId, a.address)).to.emit(fx.auditManager, "AttesterReleased");
          }
        }
      });

      it("lets attesters go once an unrevealed canary's reveal period is over", async function () {
        const fx = await loadFixture(fixture);
        const { jobId, assigned } = await canary(fx, [0n]);
        await attestAll(fx, jobId, assigned.slice(0, 1));
        await passWindow(fx, jobId);
        await fx.jobMarket.finalize(jobId);
        await expect(fx.auditManager.slashCaughtAttester(jobId, assigned[0].address))
          .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerCanaryNotRevealed")
          .withArgs(jobId);
        await time.increaseTo((await fx.jobMarket.getJob(jobId)).windowEnd + DAY + 1n);
        await expect(fx.auditManager.releaseAttester(jobId, assigned[0].address)).to.emit(fx.auditManager, "AttesterReleased");
      });
    });
  });

  describe("when a token re-enters", function () {
    it("slashCaughtAttester refuses a staking token that re-enters it", async function () {
      const fx = await loadFixture(deployReentrantStakeFixture);
      const faults = [0n, 2n, 4n, 6n];
      const spec = ethers.id("reentrant-canary");
      const { proof } = await nextEpochCanary(fx.canaryRegistry, spec, faults, SALT);
      const jobId = await createJob(fx, { specHash: spec });
      await fx.jobMarket.connect(fx.worker).claimJob(jobId);
      await submit(fx, jobId);
      const [a] = await drawAuditors(fx, jobId);
      await attestAll(fx, jobId, [a]);
      await passWindow(fx, jobId);
      await fx.auditManager.revealCanary(jobId, faults, SALT, proof);
      const payload = fx.auditManager.interface.encodeFunctionData("slashCaughtAttester", [jobId, a.address]);
      await fx.reentrantStake.arm(await fx.auditManager.getAddress(), payload);
      await expect(fx.auditManager.slashCaughtAttester(jobId, a.address)).to.be.revertedWithCustomError(
        fx.auditManager,
        "ReentrancyGuardReentrantCall",
      );
    });

    it("releaseAttester refuses a staking token that re-enters it while burning a miss penalty", async function () {
      const fx = await loadFixture(deployReentrantStakeFixture);
      const jobId = await createClaimSubmit(fx);
      const [a] = await drawAuditors(fx, jobId);
      await attestAll(fx, jobId, [a]);
      await fx.jobMarket.connect(fx.disputer).onWorkerConvicted(jobId, fx.disputer.address, 0n); // 4 intervals: sampled
      await passRevealPeriod(fx, jobId);
      const payload = fx.auditManager.interface.encodeFunctionData("releaseAttester", [jobId, a.address]);
      await fx.reentrantStake.arm(await fx.auditManager.getAddress(), payload);
      await expect(fx.auditManager.releaseAttester(jobId, a.address)).to.be.revertedWithCustomError(
        fx.auditManager,
        "ReentrancyGuardReentrantCall",
      );
    });

    it("withdraw refuses a payment token that re-enters it", async function () {
      const fx = await loadFixture(fixture);
      const bad = await ethers.deployContract("ReentrantToken");
      await bad.mint(fx.requester.address, 1_000n * E18);
      await bad.connect(fx.requester).approve(await fx.jobMarket.getAddress(), ethers.MaxUint256);
      await fx.jobMarket.setTokenAllowed(await bad.getAddress(), true);
      const jobId = await createJob(fx, { paymentToken: await bad.getAddress() });
      await fx.jobMarket.connect(fx.worker).claimJob(jobId);
      await submit(fx, jobId);
      await passWindow(fx, jobId);
      await fx.jobMarket.finalize(jobId);
      const token = await bad.getAddress();
      await bad.arm(await fx.auditManager.getAddress(), fx.auditManager.interface.encodeFunctionData("withdraw", [token]));
      await expect(fx.auditManager.connect(fx.requester).withdraw(token)).to.be.revertedWithCustomError(
        fx.auditManager,
        "ReentrancyGuardReentrantCall",
      );
      expect(await fx.auditManager.credits(token, fx.requester.address)).to.equal(FEE);
    });
  });

  describe("governance", function () {
    it("sets the auditor penalty and the canary reveal period within bounds", async function () {
      const fx = await loadFixture(fixture);
      const am = fx.auditManager;
      await expect(am.setAuditorPenalty(MISS_PENALTY)).to.emit(am, "AuditorPenaltySet").withArgs(MISS_PENALTY);
      await expect(am.setAuditorPenalty(0n)).to.be.revertedWithCustomError(am, "AuditManagerInvalidPenalty").withArgs(0n);
      // never below the miss penalty (v3 V11.2: missPenalty ≤ auditorPenalty)
      await expect(am.setAuditorPenalty(MISS_PENALTY - 1n))
        .to.be.revertedWithCustomError(am, "AuditManagerInvalidPenalty")
        .withArgs(MISS_PENALTY - 1n);
      await expect(am.setMissPenalty(1n)).to.emit(am, "MissPenaltySet").withArgs(1n);
      await expect(am.setMissPenalty(MISS_PENALTY)).to.emit(am, "MissPenaltySet").withArgs(MISS_PENALTY);
      await expect(am.setMissPenalty(0n)).to.be.revertedWithCustomError(am, "AuditManagerInvalidMissPenalty").withArgs(0n, MISS_PENALTY);
      await expect(am.setMissPenalty(MISS_PENALTY + 1n))
        .to.be.revertedWithCustomError(am, "AuditManagerInvalidMissPenalty")
        .withArgs(MISS_PENALTY + 1n, MISS_PENALTY);
      await expect(am.setCanaryRevealPeriod(3_600)).to.emit(am, "CanaryRevealPeriodSet").withArgs(3_600n);
      await expect(am.setCanaryRevealPeriod(30n * DAY))
        .to.emit(am, "CanaryRevealPeriodSet")
        .withArgs(30n * DAY);
      await expect(am.setCanaryRevealPeriod(3_599)).to.be.revertedWithCustomError(am, "AuditManagerInvalidRevealPeriod").withArgs(3_599n);
      await expect(am.setCanaryRevealPeriod(30n * DAY + 1n))
        .to.be.revertedWithCustomError(am, "AuditManagerInvalidRevealPeriod")
        .withArgs(30n * DAY + 1n);
      const role = await am.GOVERNOR_ROLE();
      await expect(am.connect(fx.stranger).setAuditorPenalty(1n))
        .to.be.revertedWithCustomError(am, "AccessControlUnauthorizedAccount")
        .withArgs(fx.stranger.address, role);
      await expect(am.connect(fx.stranger).setCanaryRevealPeriod(3_600))
        .to.be.revertedWithCustomError(am, "AccessControlUnauthorizedAccount")
        .withArgs(fx.stranger.address, role);
      await expect(am.connect(fx.stranger).setMissPenalty(1n))
        .to.be.revertedWithCustomError(am, "AccessControlUnauthorizedAccount")
        .withArgs(fx.stranger.address, role);
    });
  });

  describe("scenario", function () {
    it("audited honest job: four auditors drawn, three attest, job finalized, all paid and unlocked", async function () {
      const fx = await loadFixture(fixture);
      const { jobId, assigned } = await submittedWithAuditors(fx, BIG);
      await attestAll(fx, jobId, assigned.slice(0, 3));
      await passWindow(fx, jobId);
      await fx.jobMarket.finalize(jobId);
      await passRevealPeriod(fx, jobId);
      for (const a of assigned.slice(0, 3)) await fx.auditManager.releaseAttester(jobId, a.address);
      const pay = await fx.payToken.getAddress();
      const share = FEE / 4n;
      for (const a of assigned.slice(0, 3)) {
        expect(await fx.auditManager.credits(pay, a.address)).to.equal(share);
        expect((await fx.stakeManager.account(a.address)).locked).to.equal(0n);
      }
      expect(await fx.auditManager.credits(pay, fx.requester.address)).to.equal(FEE - 3n * share);
      expect(await fx.payToken.balanceOf(await fx.auditManager.getAddress())).to.equal(FEE);
    });
  });
});
