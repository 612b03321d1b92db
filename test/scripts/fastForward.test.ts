/**
 * `upow:fast-forward`'s keeper (TimeKeeper + onChainWindowRule) on the in-process network with the
 * real contracts: it may skip a challenge window only once nobody still needs it, from on-chain
 * facts alone (issue 15 item 2: FAST_FORWARD jumped at submission and a skip=0.4 cheater was paid).
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { JsonRpcProvider } from "ethers";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { TimeKeeper, type WindowRule } from "../../scripts/lib/demo/timeKeeper";
import { auditorsOutstanding, onChainWindowRule } from "../../scripts/lib/demo/windowRules";
import { connectDeployment, loadDeployment, type UPowContracts } from "../../verifier/chain/registry";
import { JobStatus, Phase } from "../../verifier/protocol/enums";
import { IERC20__factory } from "../../typechain-types";
import { hardhatCli, startHardhatNode } from "../helpers/hardhatNode";
import { proof } from "../helpers/merkle";
import { T, commit, deploySystem, jobParams, openCommitted, signerOf, submittedJob, type System } from "../helpers/system";

function contractsOf(sys: System): UPowContracts {
  return {
    stakeManager: sys.stakeManager,
    jobMarket: sys.jobMarket,
    auditManager: sys.auditManager,
    canaryRegistry: sys.canaryRegistry,
    disputeManager: sys.disputeManager,
    dataAvailability: sys.dataAvailability,
    randomness: sys.randomness,
    stakingToken: IERC20__factory.connect(sys.stakeToken.target as string, sys.admin),
    paymentToken: IERC20__factory.connect(sys.payToken.target as string, sys.admin),
  };
}

function keeperOf(
  sys: System,
  floorMs: number,
  disputeHoldMs = 0,
  lines: string[] = [],
  wrap: (r: WindowRule) => WindowRule = (r) => r,
): TimeKeeper {
  const contracts = contractsOf(sys);
  return new TimeKeeper({
    contracts,
    provider: hre.network.provider,
    graceMs: 60_000,
    jobs: "all",
    epochs: true,
    logWaits: true,
    log: (l) => lines.push(l),
    window: wrap(onChainWindowRule({ contracts, floorMs, disputeHoldMs })),
  });
}

/** Draws the job's auditors (the seed block must be mined first); returns the distinct auditors. */
async function drawn(sys: System, jobId: bigint): Promise<string[]> {
  for (let i = 0; i < 5 && !(await sys.auditManager.getAudit(jobId)).drawn; i++) {
    await mine(2);
    if (await sys.auditManager.canDraw(jobId)) await sys.auditManager.drawAuditors(jobId);
  }
  expect((await sys.auditManager.getAudit(jobId)).drawn).to.equal(true);
  return [...new Set(await sys.auditManager.auditorsOf(jobId))];
}

async function attest(sys: System, jobId: bigint, auditor: string): Promise<void> {
  await sys.auditManager.connect(signerOf(sys, auditor)).attest(jobId, [...(await sys.auditManager.sampleOf(jobId, auditor))]);
}

async function windowPassed(sys: System, jobId: bigint): Promise<boolean> {
  return BigInt(await time.latest()) > (await sys.jobMarket.getJob(jobId)).windowEnd;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("upow:fast-forward keeper (on-chain window rule)", function () {
  async function fixture(): Promise<{ sys: System; jobId: bigint }> {
    const sys = await deploySystem();
    return { sys, jobId: await submittedJob(sys) };
  }

  it("fast-forward never skips a window someone still needs: not before the draw, not before every assigned auditor attested", async function () {
    const { sys, jobId } = await loadFixture(fixture);
    const lines: string[] = [];
    const keeper = keeperOf(sys, 0, 0, lines);
    await keeper.tick();
    expect(await windowPassed(sys, jobId)).to.equal(false);
    const auditors = await drawn(sys, jobId);
    await keeper.tick();
    expect(await windowPassed(sys, jobId)).to.equal(false);
    for (const a of auditors.slice(0, -1)) await attest(sys, jobId, a);
    await keeper.tick();
    expect(await windowPassed(sys, jobId), "one assigned auditor has not answered").to.equal(false);
    expect(lines.join("\n")).to.match(new RegExp(`neither attested nor disputed: ${auditors[auditors.length - 1]}`));
    await attest(sys, jobId, auditors[auditors.length - 1]!);
    await keeper.tick();
    expect(await windowPassed(sys, jobId), "every assigned auditor attested").to.equal(true);
    expect(lines.some((l) => l.startsWith("⏩") && l.includes(`job ${jobId}: challenge window over`))).to.equal(true);
    // The keeper sent no protocol transaction: the job is still Submitted until somebody finalizes.
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Submitted);
    await sys.jobMarket.finalize(jobId);
  });

  it("holds the window for the wall-clock floor after submission (independent verifiers' own audits)", async function () {
    const { sys, jobId } = await loadFixture(fixture);
    const keeper = keeperOf(sys, 1_500);
    for (const a of await drawn(sys, jobId)) await attest(sys, jobId, a);
    await keeper.tick();
    expect(await windowPassed(sys, jobId)).to.equal(false);
    await sleep(1_700);
    await keeper.tick();
    expect(await windowPassed(sys, jobId)).to.equal(true);
  });

  it("a challenge commitment not yet used holds the window (an independent verifier is about to dispute)", async function () {
    const { sys, jobId } = await loadFixture(fixture);
    const keeper = keeperOf(sys, 0, 60_000);
    for (const a of await drawn(sys, jobId)) await attest(sys, jobId, a);
    await commit(sys, jobId, 1);
    await keeper.tick();
    expect(await windowPassed(sys, jobId)).to.equal(false);
  });

  it("an open dispute holds the window (others whose audits failed open theirs), then the disputes run on past it", async function () {
    const { sys, jobId } = await loadFixture(fixture);
    const keeper = keeperOf(sys, 0, 1_500);
    for (const a of await drawn(sys, jobId)) await attest(sys, jobId, a);
    // Late in the window, so the dispute's own pinpoint deadline falls after it: only the hold keeps the window.
    const j = await sys.jobMarket.getJob(jobId);
    await time.increaseTo(j.windowEnd - 200n);
    await commit(sys, jobId, 1);
    const disputeId = await openCommitted(sys, jobId, 1);
    expect(await sys.disputeManager.pinpointDeadline(disputeId)).to.be.greaterThan(j.windowEnd);
    await keeper.tick();
    expect(await windowPassed(sys, jobId), "the dispute just opened").to.equal(false);
    await sleep(1_700);
    await keeper.tick();
    expect(await windowPassed(sys, jobId)).to.equal(true);
    // Past the window the job still cannot be paid while its dispute is open.
    await expect(sys.jobMarket.finalize(jobId)).to.be.revertedWithCustomError(sys.jobMarket, "JobMarketDisputesOpen");
  });

  it("jumps nothing when a protocol event is mined during the tick (a commitment sent mid-tick), but empty blocks do not stop it", async function () {
    const { sys, jobId } = await loadFixture(fixture);
    for (const a of await drawn(sys, jobId)) await attest(sys, jobId, a);
    let during: () => Promise<unknown> = async () => {
      during = async () => undefined;
      await commit(sys, jobId, 1);
    };
    const keeper = keeperOf(sys, 0, 60_000, [], (rule) => async (job, facts) => {
      const v = await rule(job, facts);
      await during();
      return v;
    });
    await keeper.tick();
    expect(await windowPassed(sys, jobId), "the commitment came after the tick's snapshot").to.equal(false);
    await keeper.tick();
    expect(await windowPassed(sys, jobId), "the next tick sees the commitment").to.equal(false);
    // Once the commitment is used (the dispute holds for a minute) or gone, only empty blocks come mid-tick.
    const { sys: fresh, jobId: job2 } = await loadFixture(fixture);
    for (const a of await drawn(fresh, job2)) await attest(fresh, job2, a);
    during = () => mine(2);
    const k2 = keeperOf(fresh, 0, 0, [], (rule) => async (job, facts) => {
      const v = await rule(job, facts);
      await during();
      return v;
    });
    await k2.tick();
    expect(await windowPassed(fresh, job2)).to.equal(true);
  });

  it("never jumps a deadline shared by a phase still running (two windows ending in the same second)", async function () {
    const sys = await loadFixture(deploySystem);
    const n = sys.traj.checkpointLeaves.length;
    const ids: bigint[] = [];
    for (let i = 0; i < 2; i++) {
      const id = await sys.jobMarket.nextJobId();
      await sys.jobMarket.connect(sys.requester).createJob(await jobParams(sys));
      await sys.jobMarket.connect(sys.worker).claimJob(id);
      ids.push(id);
    }
    // Both results in one block: one submission time, one windowEnd.
    await hre.network.provider.request({ method: "evm_setAutomine", params: [false] });
    try {
      for (const id of ids) {
        await sys.jobMarket
          .connect(sys.worker)
          .submitResult(
            id,
            sys.traj.checkpointRoot,
            sys.traj.stateHashes[T],
            "ipfs://result",
            sys.traj.stepRoots[0],
            proof(sys.traj.checkpointLeaves, 0),
            proof(sys.traj.checkpointLeaves, n - 1),
          );
      }
      await mine(1);
    } finally {
      await hre.network.provider.request({ method: "evm_setAutomine", params: [true] });
    }
    const [a, b] = ids as [bigint, bigint];
    expect((await sys.jobMarket.getJob(a)).windowEnd).to.equal((await sys.jobMarket.getJob(b)).windowEnd);
    for (const x of await drawn(sys, a)) await attest(sys, a, x);
    await drawn(sys, b);
    await keeperOf(sys, 0).tick();
    expect(await windowPassed(sys, b), "job b's auditors have not answered").to.equal(false);
  });

  it("never jumps to a deadline that would leave a phase still running only seconds (windows ending 5 s apart)", async function () {
    const sys = await loadFixture(deploySystem);
    const a = await submittedJob(sys);
    await time.increase(5);
    const b = await submittedJob(sys);
    const [endA, endB] = [(await sys.jobMarket.getJob(a)).windowEnd, (await sys.jobMarket.getJob(b)).windowEnd];
    expect(endB - endA).to.be.within(5n, 10n);
    for (const x of await drawn(sys, a)) await attest(sys, a, x);
    const lateAuditors = await drawn(sys, b);
    const lines: string[] = [];
    const keeper = keeperOf(sys, 0, 0, lines);
    await keeper.tick();
    expect(await windowPassed(sys, a), "jumping past job a's window would leave job b's auditors seconds").to.equal(false);
    expect(lines.join("\n")).to.include(`job ${b}: challenge window over`);
    for (const x of lateAuditors) await attest(sys, b, x);
    await keeper.tick();
    expect(await windowPassed(sys, a), "both windows' phases are done").to.equal(true);
    expect(await windowPassed(sys, b)).to.equal(false);
    await keeper.tick();
    expect(await windowPassed(sys, b)).to.equal(true);
  });

  it("skips to the next epoch for a queued juror reserve only when nothing else is pending", async function () {
    const { sys, jobId } = await loadFixture(fixture);
    const keeper = keeperOf(sys, 0);
    await sys.stakeToken.mint(sys.stranger.address, 500n * 10n ** 18n);
    await sys.stakeToken.connect(sys.stranger).approve(await sys.stakeManager.getAddress(), 500n * 10n ** 18n);
    await sys.stakeManager.connect(sys.stranger).stakeForJury(500n * 10n ** 18n);
    const epoch = await sys.stakeManager.currentEpoch();
    await keeper.tick();
    expect(await sys.stakeManager.currentEpoch(), "a job is in its window").to.equal(epoch);
    for (const a of await drawn(sys, jobId)) await attest(sys, jobId, a);
    await keeper.tick();
    await sys.jobMarket.finalize(jobId);
    expect(await sys.stakeManager.currentEpoch()).to.equal(epoch);
    await keeper.tick();
    expect(await sys.stakeManager.currentEpoch()).to.equal(epoch + 1n);
  });

  it("counts an assigned auditor as answered when it attested or opened its own dispute (pure rule)", function () {
    const A = "0x00000000000000000000000000000000000000aA";
    const B = "0x00000000000000000000000000000000000000bB";
    const C = "0x00000000000000000000000000000000000000cC";
    const auditors = [
      { address: A, state: 2n },
      { address: B, state: 1n },
      { address: C, state: 1n },
    ];
    expect(auditorsOutstanding(auditors, [])).to.deep.equal([B, C]);
    expect(auditorsOutstanding(auditors, [{ id: 1n, jobId: 1n, challenger: B.toLowerCase(), phase: Phase.Pinpointing }])).to.deep.equal([
      C,
    ]);
  });

  describe("the task, against a `hardhat node` child process (as the README runs it)", function () {
    it("upow:fast-forward runs, and skips to the epoch in which a freshly staked juror reserve counts", async function () {
      const node = await startHardhatNode();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-ff-"));
      const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      const env = { LOCALHOST_RPC_URL: node.url };
      let out = "";
      let keeper: ChildProcess | undefined;
      try {
        hardhatCli(
          [
            "upow:deploy",
            "--network",
            "localhost",
            "--out",
            dir,
            "--deploy-config",
            path.join(__dirname, "..", "..", "deployments", "config", "localhost.json"),
          ],
          env,
        );
        hardhatCli(
          ["upow:stake", "--network", "localhost", "--dir", dir, "--index", "3", "--amount", "500", "--jury", "1000", "--mint"],
          env,
        );
        keeper = spawn(
          process.execPath,
          [require.resolve("hardhat/internal/cli/cli"), "upow:fast-forward", "--network", "localhost", "--dir", dir, "--interval", "200"],
          {
            cwd: path.join(__dirname, "..", ".."),
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        keeper.stdout!.on("data", (b: Buffer) => (out += b.toString()));
        keeper.stderr!.on("data", (b: Buffer) => (out += b.toString()));
        const c = connectDeployment(loadDeployment({ network: "localhost", dir }), provider);
        const queuedFor = (await c.stakeManager.account("0x90F79bf6EB2c4f870365E785982E1f101E93b906")).pendingEpoch;
        expect(queuedFor).to.be.greaterThan(0n);
        const deadline = Date.now() + 120_000;
        while ((await c.stakeManager.currentEpoch()) < queuedFor && Date.now() < deadline) await sleep(250);
        expect(await c.stakeManager.currentEpoch(), out).to.equal(queuedFor);
        expect(out).to.match(/juror reserves queued for epoch/);
      } finally {
        keeper?.kill("SIGTERM");
        provider.destroy();
        await node.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
