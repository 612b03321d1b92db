/**
 * The demo's flow, small (T=4, k=2): real deploy, real worker and verifier daemons in process,
 * real onnxruntime training and replay. Asserts the outcomes on chain, not just the demo's own
 * checklist. ~1 minute on 2 cores.
 */
import { expect } from "chai";
import hre from "hardhat";
import { runDemo, type DemoResult } from "../../scripts/lib/demo/runDemo";
import { connectDeployment } from "../../verifier/chain/registry";
import { JobStatus, Ruling } from "../../verifier/protocol/enums";

describe("demo (honest job paid, cheating job slashed)", function () {
  let result: DemoResult;
  const lines: string[] = [];

  before(async function () {
    result = await runDemo(hre, {
      totalSteps: 4,
      checkpointInterval: 2,
      batchSize: 16,
      numBatches: 4,
      hidden: [16],
      verifiers: 5,
      cheat: "skip=0.5",
      phaseTimeoutSec: 180,
      graceMs: 90_000,
      appealGraceMs: 15_000,
      print: (l) => lines.push(l),
    });
  });

  it("reports every expected outcome as met", function () {
    const failed = result.outcomes.filter((o) => !o.ok);
    expect(failed, lines.join("\n")).to.deep.equal([]);
    expect(result.ok).to.equal(true);
  });

  it("finalized job 1 for the honest worker, who withdrew exactly the reward and kept its stake", async function () {
    const c = connectDeployment(result.deployment, hre.ethers.provider);
    const honest = result.parties.find((p) => p.label === "worker (honest)")!.address;
    const job = await c.jobMarket.getJob(result.job1);
    expect(job.status).to.equal(JobStatus.Finalized);
    expect(job.worker).to.equal(honest);
    const paid = await c.jobMarket.queryFilter(c.jobMarket.filters.CreditWithdrawn(undefined, honest));
    expect(paid.map((e) => e.args.amount)).to.deep.equal([job.reward]);
    expect(await c.jobMarket.credits(await c.paymentToken!.getAddress(), honest)).to.equal(0n);
    const acct = await c.stakeManager.account(honest);
    expect(acct.locked).to.equal(0n);
    expect(await c.stakeManager.lockedAmount(honest, await c.jobMarket.collateralLockId(result.job1))).to.equal(0n);
    expect(await c.disputeManager.queryFilter(c.disputeManager.filters.DisputeOpened(undefined, result.job1))).to.deep.equal([]);
  });

  it("rejected job 2, slashed the cheater's collateral, refunded the requester and paid the challenger", async function () {
    const c = connectDeployment(result.deployment, hre.ethers.provider);
    const cheater = result.parties.find((p) => p.label.startsWith("worker (cheat"))!.address;
    const requester = result.parties.find((p) => p.label === "requester")!.address;
    const job = await c.jobMarket.getJob(result.job2);
    expect(job.status).to.equal(JobStatus.Rejected);
    expect(job.worker).to.equal(cheater);
    const [conv] = await c.disputeManager.queryFilter(c.disputeManager.filters.WorkerConvicted(result.job2));
    expect(conv, "WorkerConvicted").to.not.equal(undefined);
    expect(conv!.args.slashed).to.equal(job.collateral);
    expect(conv!.args.challengerShare).to.be.greaterThan(0n);
    const [closed] = await c.disputeManager.queryFilter(c.disputeManager.filters.DisputeClosed(conv!.args.disputeId));
    expect(closed!.args.ruling).to.equal(Ruling.WorkerFault);
    const dispute = await c.disputeManager.getDispute(conv!.args.disputeId);
    expect(result.parties.some((p) => p.address === dispute.challenger && p.label.startsWith("verifier"))).to.equal(true);
    // The cheater lost its collateral and nothing else.
    const stake = await c.stakeManager.account(cheater);
    const staked = await c.stakeManager.queryFilter(c.stakeManager.filters.Staked(cheater));
    expect(stake.free + stake.locked + stake.unbonding).to.equal(staked[0]!.args.amount - job.collateral);
    // The requester got its escrow back (withdrawn) and its slash share.
    const refunds = await c.jobMarket.queryFilter(c.jobMarket.filters.CreditWithdrawn(undefined, requester));
    expect(refunds.map((e) => e.args.amount)).to.deep.equal([job.reward + job.verificationFee]);
    const credited = await c.disputeManager.queryFilter(c.disputeManager.filters.Credited(requester));
    expect(credited.reduce((s, e) => s + e.args.amount, 0n)).to.equal(conv!.args.requesterShare);
    // The challenger was credited at least its bounty.
    const toChallenger = await c.disputeManager.queryFilter(c.disputeManager.filters.Credited(dispute.challenger));
    expect(toChallenger.reduce((s, e) => s + e.args.amount, 0n)).to.be.greaterThanOrEqual(conv!.args.challengerShare);
  });

  it("trained a model that does better on held-out digits than its initial state", function () {
    expect(result.accuracy).to.not.equal(null);
    expect(result.accuracy!).to.be.greaterThan(result.initialAccuracy!);
  });
});
