/**
 * Issue 15's "done when": README.md's separate-process walkthrough run for real, command by
 * command (readmeFlow.ts), as an operator would in separate terminals. A `hardhat node` child on a
 * free port, deploy and stake through the real tasks, a worker and three verifiers as child
 * processes of bin/upow.js, the fast-forward keeper, the viem example as the requester. Asserts
 * chain facts: an honest job audited and paid; a `--cheat skip=0.4` worker disputed and slashed;
 * a verifier SIGKILLed after committing its vote, restarted with the same command, still reveals.
 * Not part of `npm test` (its budget): `npm run test:e2e`, which .ci/run runs.
 */
import { expect } from "chai";
import { getAddress } from "ethers";
import { FlowRunner } from "./flowRunner";
import { until, waitForLog, type Proc } from "./processes";

/** Hardhat's dev accounts the README uses: #2 the worker, #3..#5 the verifiers. */
const WORKER = getAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
const VERIFIERS: Record<string, string> = {
  "verifier-3": getAddress("0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
  "verifier-4": getAddress("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"),
  "verifier-5": getAddress("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"),
};
const isVerifier = (a: string): boolean => Object.values(VERIFIERS).includes(getAddress(a));

describe("README separate-process flow, real processes (issue 15)", function () {
  this.timeout(20 * 60_000);
  const e2e = new FlowRunner("readme");
  const daemons = new Map<string, Proc>();
  let ready = false;
  let honestJob = 0n;

  before(async function () {
    await e2e.open();
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") e2e.failed();
  });

  after(async function () {
    await e2e.close();
  });

  it("chain, deploy, keys and stakes, a worker and three verifiers: an honest job is audited and paid", async function () {
    await e2e.startChain();
    await e2e.setup();
    const { c } = e2e;
    for (const a of [WORKER, ...Object.values(VERIFIERS)]) {
      expect((await c.stakeManager.account(a)).free, `free stake of ${a}`).to.be.greaterThan(0n);
    }

    daemons.set("worker", e2e.start("worker"));
    for (const id of Object.keys(VERIFIERS)) daemons.set(id, e2e.start(id));
    daemons.set("keeper", e2e.start("keeper"));
    await waitForLog(daemons.get("worker")!, /worker started/, 180_000);
    for (const id of Object.keys(VERIFIERS)) await waitForLog(daemons.get(id)!, /verifier started/, 180_000);
    e2e.mark("daemons up");
    ready = true;

    const paidBefore = await paid(WORKER);
    const out = await e2e.run("requester", 600_000);
    e2e.mark("honest job ended");
    const m = /job (\d+) ended (\w+)/.exec(out);
    expect(m, "the example's last line").to.not.equal(null);
    const jobId = BigInt(m![1]!);
    honestJob = jobId;
    expect(m![2]).to.equal("Finalized");
    expect(await e2e.jobStatus(jobId)).to.equal("Finalized");
    const job = await c.jobMarket.getJob(jobId);
    expect(job.worker).to.equal(WORKER);
    // Audited: the verifiers drawn as its auditors attested it before it finalized.
    const attesters = (await c.auditManager.queryFilter(c.auditManager.filters.Attested(jobId))).map((e) => e.args.auditor);
    expect(attesters.filter(isVerifier), "attestations by the verifiers").to.not.be.empty;
    // Paid: the reward reaches the worker (credited, then withdrawn by its daemon).
    await until("the worker's reward", 60_000, async () => ((await paid(WORKER)) - paidBefore >= job.reward ? true : undefined));
  });

  it("a --cheat skip=0.4 worker is disputed and slashed; a verifier SIGKILLed after its commit restarts and reveals", async function () {
    if (!ready) this.skip();
    const { c } = e2e;
    await e2e.procs.stop(daemons.get("worker")!);
    const cheater = e2e.start("cheater");
    daemons.set("worker", cheater);
    await waitForLog(cheater, /worker started/, 180_000);
    e2e.mark("cheater up");

    const stakeBefore = await c.stakeManager.account(WORKER);
    const fromBlock = await e2e.provider.getBlockNumber();
    const requester = e2e.start("requester", "requester-cheated");
    const created = await waitForLog(requester, /job \d+ created/, 180_000);
    const jobId = BigInt(/job (\d+) created/.exec(created)![1]!);

    // The first vote committed by one of the verifiers: kill that verifier before it can reveal.
    const commit = await until(
      "a verifier's vote commit",
      480_000,
      async () => {
        if (requester.exitCode() !== undefined)
          throw new Error(`the requester ended before any vote (job ${jobId} ${await e2e.jobStatus(jobId)})`);
        const evs = await c.disputeManager.queryFilter(c.disputeManager.filters.VoteCommitted(), fromBlock);
        return evs.find((e) => isVerifier(e.args.juror));
      },
      200,
    );
    const juror = getAddress(commit.args.juror);
    const victim = Object.keys(VERIFIERS).find((id) => VERIFIERS[id] === juror)!;
    e2e.procs.signal(daemons.get(victim)!, "SIGKILL");
    await daemons.get(victim)!.exited;
    e2e.mark(`${victim} killed after its commit`);
    const revealed = () =>
      c.disputeManager.queryFilter(c.disputeManager.filters.VoteRevealed(commit.args.disputeId, commit.args.round, juror));
    expect(await revealed(), "the verifier revealed before it was killed: the kill came too late to test a restart").to.be.empty;

    daemons.set(victim, e2e.start(victim, `${victim}-restarted`));
    await until(`${victim}'s reveal after the restart`, 300_000, async () => (await revealed())[0]);
    e2e.mark(`${victim} revealed after restart`);

    const code = await requester.exited;
    e2e.mark("cheated job ended");
    expect(code, "the requester's exit code").to.equal(0);
    expect(await e2e.jobStatus(jobId)).to.equal("Rejected");
    expect(await c.disputeManager.queryFilter(c.disputeManager.filters.WorkerConvicted(jobId)), "WorkerConvicted").to.not.be.empty;
    expect(await c.stakeManager.queryFilter(c.stakeManager.filters.Slashed(WORKER), fromBlock), "Slashed(worker)").to.not.be.empty;
    const stakeAfter = await c.stakeManager.account(WORKER);
    expect(stakeAfter.free + stakeAfter.locked).to.be.lessThan(stakeBefore.free + stakeBefore.locked);

    // README step 10: what the operator sees.
    const status = await e2e.run("status", 120_000);
    expect(status).to.match(new RegExp(`#${honestJob}\\s+Finalized\\s+as worker`));
    expect(status).to.match(new RegExp(`#${jobId}\\s+Rejected\\s+as worker`));
  });

  /** Payment tokens the account holds or has credited at the JobMarket. */
  async function paid(account: string): Promise<bigint> {
    const { c } = e2e;
    const token = c.paymentToken!;
    return (await token.balanceOf(account)) + (await c.jobMarket.credits(await token.getAddress(), account));
  }
});
