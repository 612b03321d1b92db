/**
 * `upow status` / `upow withdraw` against the in-process network: a real job finalized after an
 * answered availability challenge and a timed-out dispute (credits in JobMarket, AuditManager,
 * DisputeManager and DataAvailability), and a second job under an open dispute. The report must
 * name statuses and phases as the contracts define them, give amounts with units, and withdraw
 * must pay each ledger exactly once.
 */
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import pino from "pino";
import { renderAccountStatus } from "../../../verifier/account/render";
import { readAccountStatus, type AccountStatus } from "../../../verifier/account/status";
import { withdrawCredits } from "../../../verifier/account/withdraw";
import { connectDeployment, type Deployment } from "../../../verifier/chain/registry";
import { deploymentOf } from "../../helpers/deployment";
import { createProvider, type UPowProvider } from "../../../verifier/chain/rpc";
import { deploySystem, disputeWithCommittee, jobParams, openDispute, stepRange, submittedJob, type System } from "../../helpers/system";
import { LEDGERS } from "../../../verifier/account/ledgers";

const logger = pino({ level: "silent" });

describe("upow status / withdraw (in-process chain)", function () {
  this.timeout(120_000);
  let sys: System;
  let deployment: Deployment;
  let provider: UPowProvider;
  let finishedJob: bigint;
  let expiredJob: bigint;
  let openJob: bigint;
  let disputeId: bigint;
  let votingJob: bigint;
  let votingDispute: bigint;
  let juror: System["jurors"][number];

  before(async function () {
    sys = await deploySystem();
    deployment = await deploymentOf(sys, Number((await hre.ethers.provider.getNetwork()).chainId));
    provider = createProvider({ eip1193: hre.network.provider, logger, pollingIntervalMs: 50 });

    // Job 1: disputed, leaves demanded and answered, the challenger misses its pinpoint, the job
    // is finalized and the answered challenge settled: every ledger owes someone something.
    finishedJob = await submittedJob(sys);
    const d1 = await openDispute(sys, finishedJob, 1);
    const da = sys.dataAvailability;
    const challengeId = (await da.challengeCount()) + 1n;
    await da.connect(sys.challenger).demandStepLeaves(finishedJob, d1, 1, 0, 1);
    const r = stepRange(sys.traj, 1, 0, 1);
    await da.connect(sys.worker).answerStepLeaves(challengeId, r.stateHashes, r.proof);
    await time.increaseTo((await sys.disputeManager.pinpointDeadline(d1)) + 1n);
    await sys.disputeManager.timeoutPinpoint(d1);
    await time.increaseTo((await sys.jobMarket.getJob(finishedJob)).windowEnd + 1n);
    await sys.jobMarket.finalize(finishedJob);
    await da.settle(challengeId);

    // A claim the worker let expire: the job is Open again, the worker only a former one.
    expiredJob = await sys.jobMarket.nextJobId();
    await sys.jobMarket.connect(sys.requester).createJob(await jobParams(sys));
    await sys.jobMarket.connect(sys.worker).claimJob(expiredJob);
    await time.increaseTo((await sys.jobMarket.getJob(expiredJob)).submitDeadline + 1n);
    await sys.jobMarket.expireClaim(expiredJob);

    // Job 2: submitted, under a dispute still waiting for its pinpoint.
    openJob = await submittedJob(sys);
    disputeId = await openDispute(sys, openJob, 2, sys.challenger2);
    // Job 3: a dispute whose committee is voting.
    votingJob = await submittedJob(sys);
    const v = await disputeWithCommittee(sys, votingJob, 1);
    votingDispute = v.disputeId;
    juror = v.jurors[0];
  });

  after(function () {
    provider.destroy();
  });

  const status = (account: string): Promise<AccountStatus> =>
    readAccountStatus({ provider, deployment, contracts: connectDeployment(deployment, provider), account, chunkSize: 7 });

  it("the worker: its jobs by status name (an expired claim as former-worker), open disputes with role, phase and deadline, credits with units", async function () {
    const s = await status(sys.worker.address);
    expect(s.jobs.map((j) => [j.jobId, j.status, j.roles])).to.deep.equal([
      [finishedJob, "Finalized", ["worker"]],
      [expiredJob, "Open", ["former-worker"]],
      [openJob, "Submitted", ["worker"]],
      [votingJob, "Submitted", ["worker"]],
    ]);
    expect(s.jobs[0].reward.text).to.equal("100 PAY");
    expect(s.jobs[0].reward.raw).to.equal(100n * 10n ** 18n);
    expect(s.disputes.map((x) => [x.disputeId, x.phase, x.roles])).to.deep.equal([
      [disputeId, "Pinpointing", ["worker"]],
      [votingDispute, "Voting", ["worker"]],
    ]);
    const d = s.disputes[0];
    expect([d.disputeId, d.jobId, d.interval, d.phase, d.roles]).to.deep.equal([disputeId, openJob, 2, "Pinpointing", ["worker"]]);
    expect(d.deadlines).to.have.length(1);
    expect(d.deadlines[0].what).to.equal("pinpoint by");
    expect(BigInt(d.deadlines[0].at)).to.equal(await sys.disputeManager.pinpointDeadline(disputeId));
    expect(d.deadlines[0].text).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in \d+ (s|min|h|d)\)$/);

    const byLedger = Object.fromEntries(s.credits.filter((c) => c.amount.raw > 0n).map((c) => [c.ledger, c.amount]));
    const pay = await sys.payToken.getAddress();
    expect(byLedger["job-market"]?.raw).to.equal(await sys.jobMarket.credits(pay, sys.worker.address));
    expect(byLedger["job-market"]?.text).to.equal("100 PAY");
    const daOwed = await sys.dataAvailability.credits(sys.worker.address);
    expect(daOwed).to.be.greaterThan(0n);
    expect(byLedger["data-availability"]?.raw).to.equal(daOwed);
    expect(byLedger["data-availability"]?.text).to.match(/^[\d.]+ STK$/);
    expect(s.stake.free.text).to.match(/ STK$/);
    expect(s.stake.locked.raw).to.equal((await sys.stakeManager.account(sys.worker.address)).locked);

    const text = renderAccountStatus(s);
    expect(text).to.contain(`#${finishedJob}  Finalized`);
    expect(text).to.contain("Pinpointing");
    expect(text).to.contain("data-availability");
    expect(text).to.not.match(/status \d|phase \d/);
  });

  it("the challengers and the requester: their disputes and job roles", async function () {
    const c2 = await status(sys.challenger2.address);
    expect(c2.disputes.map((d) => [d.disputeId, d.roles])).to.deep.equal([[disputeId, ["challenger"]]]);
    expect(c2.jobs).to.deep.equal([]);
    // The first challenger's first dispute is Closed (ChallengerTimedOut): no longer listed as open.
    expect((await status(sys.challenger.address)).disputes.map((d) => [d.disputeId, d.roles])).to.deep.equal([
      [votingDispute, ["challenger"]],
    ]);
    const req = await status(sys.requester.address);
    expect(req.jobs.map((j) => [j.status, j.roles])).to.deep.equal([
      ["Finalized", ["requester"]],
      ["Open", ["requester"]],
      ["Submitted", ["requester"]],
      ["Submitted", ["requester"]],
    ]);
    expect(req.disputes.map((d) => d.roles)).to.deep.equal([["requester"], ["requester"]]);
    // Unattested audit shares go back to the requester in the AuditManager ledger.
    const audit = req.credits.find((c) => c.ledger === "audit" && c.amount.raw > 0n);
    expect(audit?.amount.text).to.match(/ PAY$/);
  });

  it("a juror: the voting dispute with its commit and reveal deadlines; audits it was drawn for as auditor", async function () {
    const s = await status(juror.address);
    expect(s.disputes.map((d) => [d.disputeId, d.phase, d.roles])).to.deep.equal([[votingDispute, "Voting", ["juror"]]]);
    const [commitEnd, revealEnd] = await sys.disputeManager.votingWindows(votingDispute);
    expect(s.disputes[0].deadlines.map((x) => [x.what, BigInt(x.at)])).to.deep.equal([
      ["commit votes by", commitEnd],
      ["reveal votes by", revealEnd],
    ]);
    expect(s.stake.jurorReserve.raw).to.equal((await sys.stakeManager.account(juror.address)).reserve);
    expect(s.stake.jurorSeatLocked.raw).to.be.greaterThan(0n);
    // Jurors also carry draw weight for audits: every job it audits, and only those, as auditor.
    const audited: bigint[] = [];
    for (const id of [finishedJob, openJob, votingJob]) {
      if ((await sys.auditManager.auditorsOf(id)).includes(juror.address)) audited.push(id);
    }
    expect(s.jobs.map((j) => [j.jobId, j.roles])).to.deep.equal(audited.map((id) => [id, ["auditor"]]));
  });

  it("withdraw pays every non-zero ledger once (balances move by what it reports); a second withdraw pays nothing", async function () {
    const ledgersPaid = new Set<string>();
    for (const who of [sys.worker, sys.requester, sys.challenger]) {
      const before = await status(who.address);
      const owed = before.credits.filter((c) => c.amount.raw > 0n);
      expect(owed.length, `${who.address} has credits`).to.be.greaterThan(0);
      const balances = async (): Promise<Record<string, bigint>> => ({
        PAY: await sys.payToken.balanceOf(who.address),
        STK: await sys.stakeToken.balanceOf(who.address),
      });
      const b0 = await balances();
      const contracts = connectDeployment(deployment, who);
      const paid = await withdrawCredits({ signer: who, provider, deployment, contracts, chunkSize: 7 });
      expect(paid.map((p) => [p.ledger, p.token, p.raw])).to.deep.equal(owed.map((c) => [c.ledger, c.amount.token, c.amount.raw]));
      const b1 = await balances();
      const sum = (token: string): bigint => paid.filter((p) => p.token === token).reduce((a, p) => a + p.raw, 0n);
      expect(b1.PAY - b0.PAY).to.equal(sum(await sys.payToken.getAddress()));
      expect(b1.STK - b0.STK).to.equal(sum(await sys.stakeToken.getAddress()));
      expect((await status(who.address)).credits.every((c) => c.amount.raw === 0n)).to.equal(true);
      expect(await withdrawCredits({ signer: who, provider, deployment, contracts })).to.deep.equal([]);
      for (const p of paid) ledgersPaid.add(p.ledger);
    }
    // The scenario reaches every ledger, so a ledger that withdraw forgets fails here.
    expect([...ledgersPaid].sort()).to.deep.equal([...LEDGERS].sort());
  });

  it("withdraw --ledger limits it to that ledger", async function () {
    // A fresh JobMarket credit (an open job cancelled: reward and fee back), the requester's only one.
    const jobId = await sys.jobMarket.nextJobId();
    await sys.jobMarket.connect(sys.requester).createJob(await jobParams(sys));
    await sys.jobMarket.connect(sys.requester).cancelJob(jobId);
    const contracts = connectDeployment(deployment, sys.requester);
    expect(await withdrawCredits({ signer: sys.requester, provider, deployment, contracts, ledgers: ["audit", "dispute"] })).to.deep.equal(
      [],
    );
    const paid = await withdrawCredits({ signer: sys.requester, provider, deployment, contracts, ledgers: ["job-market"] });
    expect(paid.map((p) => [p.ledger, p.raw])).to.deep.equal([["job-market", 110n * 10n ** 18n]]);
  });
});
