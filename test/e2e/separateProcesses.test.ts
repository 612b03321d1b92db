/**
 * Issue 15's "done when": README.md's separate-process walkthrough run for real, command by
 * command (readmeFlow.ts), as an operator would in separate terminals. A `hardhat node` child on a
 * free port, deploy and stake through the real tasks, a worker and three verifiers as child
 * processes of bin/upow.js, the fast-forward keeper, the viem example as the requester. Asserts
 * chain facts only: an honest job audited and paid; a `--cheat skip=0.4` worker disputed and
 * slashed; a verifier SIGKILLed after committing its vote, restarted with the same command, still
 * reveals. Not part of `npm test` (its budget): `npm run test:e2e`, which .ci/run runs.
 *
 * Logs of every process go to files under a temporary directory, printed when a test fails.
 * The deployment registry is the README's (deployments/localhost.json): an existing one is set
 * aside for the run and put back afterwards.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, getAddress } from "ethers";
import { connectDeployment, loadDeployment, type UPowContracts } from "../../verifier/chain/registry";
import { inTerminal, onPort, step, type Flow } from "./readmeFlow";
import { PRE_MERGE_FLOW } from "./preMergeFlow";
import { REPO_ROOT, Processes, cleanEnv, freePort, until, waitForLog, type Proc } from "./processes";

// The one place that picks the commands: PRE_MERGE_FLOW until issue 15's CLI is merged, then README_FLOW.
const FLOW: Flow = PRE_MERGE_FLOW;

const DEPLOYMENT = path.join(REPO_ROOT, "deployments", "localhost.json");
const STATUS = ["None", "Open", "Claimed", "Submitted", "Finalized", "Rejected", "Cancelled"] as const;
/** Hardhat's dev accounts the README uses: #2 the worker, #3..#5 the verifiers. */
const WORKER = getAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
const VERIFIERS: Record<string, string> = {
  "verifier-3": getAddress("0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
  "verifier-4": getAddress("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"),
  "verifier-5": getAddress("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"),
};

describe("README separate-process flow, real processes (issue 15)", function () {
  this.timeout(20 * 60_000);
  const t0 = Date.now();
  const timings: [string, number][] = [];
  const mark = (label: string): void => {
    timings.push([label, (Date.now() - t0) / 1000]);
  };
  let tmp: string;
  let port: number;
  let procs: Processes;
  let provider: JsonRpcProvider;
  let c: UPowContracts;
  let setAside: string | undefined;
  let failed = false;
  const daemons = new Map<string, Proc>();

  const cmd = (id: string): string => onPort(FLOW, inTerminal(FLOW, id), port);
  const has = (id: string): boolean => FLOW.steps.some((s) => s.id === id);
  const jobStatus = async (jobId: bigint): Promise<string> => STATUS[Number((await c.jobMarket.getJob(jobId)).status)]!;

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "upow-e2e-"));
    fs.mkdirSync(path.join(tmp, "logs"));
    port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    procs = new Processes(path.join(tmp, "logs"), cleanEnv({
      // Where the hardhat tasks and the example find the node; UPOW_RPC_URLS comes from the flow's own export line.
      LOCALHOST_RPC_URL: url, RPC_URL: url,
      // Keys, data dirs and locks of this run stay in its temporary directory.
      UPOW_HOME: path.join(tmp, "state"), XDG_STATE_HOME: path.join(tmp, "xdg"),
      NO_COLOR: "1",
    }));
    if (fs.existsSync(DEPLOYMENT)) {
      setAside = `${DEPLOYMENT}.e2e-${process.pid}`;
      fs.renameSync(DEPLOYMENT, setAside);
    }
    console.log(`    e2e: port ${port}, logs in ${path.join(tmp, "logs")}`);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") {
      failed = true;
      console.log(procs.dump());
    }
  });

  after(async function () {
    await procs?.stopAll();
    provider?.destroy();
    if (fs.existsSync(DEPLOYMENT)) fs.rmSync(DEPLOYMENT);
    if (setAside !== undefined) fs.renameSync(setAside, DEPLOYMENT);
    mark("all processes stopped");
    console.log(`    e2e timings (s since start): ${timings.map(([l, t]) => `${l} ${t.toFixed(0)}`).join("; ")}`);
    if (!failed) fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`    e2e: logs kept in ${path.join(tmp, "logs")}`);
  });

  it("chain, deploy, keys and stakes, a worker and three verifiers: an honest job is audited and paid", async function () {
    const chain = procs.start("chain", cmd("chain"));
    provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, undefined, { staticNetwork: true, polling: true, pollingInterval: 250 });
    await until("the hardhat node to answer", 120_000, async () => (chain.exitCode() === undefined ? await provider.getBlockNumber() : -1));
    expect(chain.exitCode(), "hardhat node exited").to.equal(undefined);
    mark("chain up");

    for (const s of FLOW.steps.filter((x) => x.role === "setup")) {
      await procs.run(s.id, cmd(s.id), 300_000);
      mark(s.id);
    }
    c = connectDeployment(loadDeployment({ file: DEPLOYMENT }), provider);
    for (const a of [WORKER, ...Object.values(VERIFIERS)]) {
      expect((await c.stakeManager.account(a)).free, `stake of ${a}`).to.be.greaterThan(0n);
    }

    daemons.set("worker", procs.start("worker", cmd("worker")));
    for (const id of Object.keys(VERIFIERS)) daemons.set(id, procs.start(id, cmd(id)));
    if (has("keeper")) daemons.set("keeper", procs.start("keeper", cmd("keeper")));
    await waitForLog(daemons.get("worker")!, /worker started/, 180_000);
    for (const id of Object.keys(VERIFIERS)) await waitForLog(daemons.get(id)!, /verifier started/, 180_000);
    mark("daemons up");

    const paidBefore = await paid(WORKER);
    const out = await procs.run("requester", cmd("requester"), 600_000);
    mark("honest job ended");
    const m = /job (\d+) ended (\w+)/.exec(out);
    expect(m, "the example's last line").to.not.equal(null);
    const jobId = BigInt(m![1]!);
    expect(m![2]).to.equal("Finalized");
    expect(await jobStatus(jobId)).to.equal("Finalized");
    const job = await c.jobMarket.getJob(jobId);
    expect(job.worker).to.equal(WORKER);
    // Audited: at least one of the three verifiers attested the job before it finalized.
    const attesters = (await c.auditManager.queryFilter(c.auditManager.filters.Attested(jobId))).map((e) => getAddress(e.args.auditor));
    expect(attesters.filter((a) => Object.values(VERIFIERS).includes(a)), "attestations by the verifiers").to.not.be.empty;
    // Paid: the reward reaches the worker (credited, and withdrawn by the daemon sooner or later).
    await until("the worker's reward", 60_000, async () => ((await paid(WORKER)) - paidBefore >= job.reward ? true : undefined));
  });

  it("a --cheat skip=0.4 worker is disputed and slashed; a verifier SIGKILLed after its commit restarts and reveals", async function () {
    if (c === undefined) this.skip();
    await procs.stop(daemons.get("worker")!);
    const cheater = procs.start("cheater", cmd("cheater"));
    daemons.set("worker", cheater);
    await waitForLog(cheater, /worker started/, 180_000);
    mark("cheater up");

    const stakeBefore = await c.stakeManager.account(WORKER);
    const fromBlock = await provider.getBlockNumber();
    const requester = procs.start("requester-cheated", cmd("requester"));
    const created = await waitForLog(requester, /job \d+ created/, 180_000);
    const jobId = BigInt(/job (\d+) created/.exec(created)![1]!);

    // The first vote committed by one of our verifiers: kill that verifier before it can reveal.
    const commit = await until("a verifier's vote commit", 480_000, async () => {
      if (requester.exitCode() !== undefined) throw new Error("the requester ended before any vote");
      const evs = await c.disputeManager.queryFilter(c.disputeManager.filters.VoteCommitted(), fromBlock);
      return evs.find((e) => Object.values(VERIFIERS).includes(getAddress(e.args.juror)));
    }, 200);
    const juror = getAddress(commit.args.juror);
    const victim = Object.keys(VERIFIERS).find((id) => VERIFIERS[id] === juror)!;
    procs.signal(daemons.get(victim)!, "SIGKILL");
    await daemons.get(victim)!.exited;
    mark(`${victim} killed after its commit`);
    const early = await c.disputeManager.queryFilter(c.disputeManager.filters.VoteRevealed(commit.args.disputeId, commit.args.round, juror));
    expect(early, "the verifier revealed before it was killed: the kill came too late to test a restart").to.be.empty;

    const restarted = procs.start(`${victim}-restarted`, cmd(victim));
    daemons.set(victim, restarted);
    const reveal = await until(`${victim}'s reveal after the restart`, 300_000, async () => {
      const evs = await c.disputeManager.queryFilter(c.disputeManager.filters.VoteRevealed(commit.args.disputeId, commit.args.round, juror));
      return evs[0];
    });
    expect(reveal.args.vote).to.be.a("bigint");
    mark(`${victim} revealed after restart`);

    const code = await requester.exited;
    mark("cheated job ended");
    expect(code, "the requester's exit code").to.equal(0);
    expect(await jobStatus(jobId)).to.equal("Rejected");
    const convicted = await c.disputeManager.queryFilter(c.disputeManager.filters.WorkerConvicted(jobId));
    expect(convicted, "WorkerConvicted").to.not.be.empty;
    const slashed = await c.stakeManager.queryFilter(c.stakeManager.filters.Slashed(WORKER), fromBlock);
    expect(slashed, "Slashed(worker)").to.not.be.empty;
    const stakeAfter = await c.stakeManager.account(WORKER);
    expect(stakeAfter.free + stakeAfter.locked).to.be.lessThan(stakeBefore.free + stakeBefore.locked);
  });

  /** Payment tokens the account holds or has credited at the JobMarket. */
  async function paid(account: string): Promise<bigint> {
    const token = c.paymentToken!;
    return (await token.balanceOf(account)) + (await c.jobMarket.credits(await token.getAddress(), account));
  }
});
