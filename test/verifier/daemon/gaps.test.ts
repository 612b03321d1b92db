/**
 * The verifier daemon's less-trodden paths on the in-process Hardhat network: --dry-run sends
 * nothing; a reorg above the confirmation depth is never acted on; appeals of a contrary ruling
 * (--appeal, else a log line); and, with a real worker, the assigned-auditor duty after downtime:
 * chunked backfill, drawn as the only eligible staker, attest, finalize, release, fee withdrawal.
 */
import { enterNextEpoch } from "../../helpers/staking";
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import pino from "pino";
import { startRpcProxy, type RpcProxy } from "../../../verifier/chain/rpc-proxy";
import type { Eip1193Provider } from "../../../verifier/chain/rpc";
import type { Tick } from "../../../verifier/daemon/player/context";
import { Phase, Ruling } from "../../../verifier/daemon/solver/types";
import { deploySystem, disputeWithCommittee, JUROR_STAKE, submittedJob, vote, type System } from "../../helpers/system";
import {
  CHALLENGER_ACCOUNT,
  JUROR_ACCOUNT,
  Miner,
  Requester,
  readRecords,
  startVerifier,
  startWorker,
  stop,
  verifierConfig,
  waitFor,
  type Running,
} from "./harness";
import { JobStatus } from "../../../verifier/protocol/enums";

/** A pino logger whose JSON lines land in `lines` (to see what a daemon decided). */
function capture(lines: string[]) {
  return pino(
    { level: "info" },
    new Writable({
      write: (c, _e, cb) => {
        lines.push(String(c));
        cb();
      },
    }),
  );
}

describe("verifier daemon: dry run, reorgs, appeals, assigned auditor", function () {
  this.timeout(240_000);
  let tmp: string;
  const miner = new Miner();
  const running: Running[] = [];
  const proxies: RpcProxy[] = [];

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-verifierd-gaps-"));
  });
  after(async function () {
    await rm(tmp, { recursive: true, force: true });
  });
  afterEach(async function () {
    miner.stop();
    for (const r of running.splice(0)) await stop(r);
    for (const p of proxies.splice(0)) await p.close();
  });
  const track = (r: Running) => (running.push(r), r);

  it("--dry-run decides and simulates (draw, finalize) but sends nothing: nonce unchanged", async function () {
    const sys = await loadFixture(deploySystem);
    const jobId = await submittedJob(sys);
    const nonce = await ethers.provider.getTransactionCount(sys.challenger.address);
    const lines: string[] = [];
    const dir = path.join(tmp, "dry");
    track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, dir, { dryRun: true, audit: false }), { logger: capture(lines) }));
    miner.start();
    const dry = (purpose: string) =>
      lines.some((l) => l.includes("dry run: simulation passed, not sending") && l.includes(`"purpose":"${purpose}"`));
    await waitFor("a simulated drawAuditors", async () => dry("draw-auditors"));
    await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
    await waitFor("a simulated finalize", async () => dry("finalize"));

    expect(await ethers.provider.getTransactionCount(sys.challenger.address)).to.equal(nonce);
    expect((await sys.auditManager.getAudit(jobId)).drawn).to.equal(false);
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Submitted);
    miner.stop();
    await stop(running.pop());
    expect(readRecords(dir, (_r, j) => j.listIntents({}))).to.deep.equal([]);
  });

  it("a reorg shallower than the confirmation depth (4) is never acted on; the replacement chain is", async function () {
    const sys = await loadFixture(deploySystem);
    const dir = path.join(tmp, "reorg");
    const ticks: Tick[] = [];
    track(
      startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, dir, { confirmations: 4, audit: false, callTimeouts: false }), {
        onTick: (t) => ticks.push(t),
      }),
    );
    await mine(5);
    await waitFor("first tick", async () => ticks.length > 0);

    const snapshot = (await network.provider.request({ method: "evm_snapshot", params: [] })) as string;
    const dropped = await submittedJob(sys, { specURI: "ipfs://dropped" }); // create, claim, submit: 3 blocks
    await mine(1); // all four new blocks stay above head − 4
    const seen = ticks.length;
    await waitFor("ticks over the unconfirmed blocks", async () => ticks.length >= seen + 10);
    expect(readRecords(dir, (r) => [r.followedJobs(), r.jobNote(dropped)])).to.deep.equal([[], {}]);

    await network.provider.request({ method: "evm_revert", params: [snapshot] });
    const kept = await submittedJob(sys, { specURI: "ipfs://kept" });
    expect(kept).to.equal(dropped); // same id on the new branch
    await mine(5);
    const note = await waitFor("the replacement job followed", async () =>
      readRecords(dir, (r) => (r.followedJobs().includes(kept) ? r.jobNote(kept) : undefined)),
    );
    expect(note.specURI).to.equal("ipfs://kept");
    expect(note.resultURI).to.equal("ipfs://result");
  });

  describe("when a ruling goes against the challenger (jurors vote WorkerHonest)", function () {
    async function honestRuling(): Promise<{ sys: System; disputeId: bigint }> {
      const sys = await loadFixture(deploySystem);
      const jobId = await submittedJob(sys);
      const { disputeId, jurors } = await disputeWithCommittee(sys, jobId);
      await vote(sys, disputeId, jurors, [Ruling.WorkerHonest, Ruling.WorkerHonest, Ruling.WorkerHonest]);
      await sys.disputeManager.resolve(disputeId);
      const d = await sys.disputeManager.getDispute(disputeId);
      expect([d.phase, d.ruling]).to.deep.equal([BigInt(Phase.Ruled), BigInt(Ruling.WorkerHonest)]);
      return { sys, disputeId };
    }

    it("without --appeal it only logs; with --appeal it appeals with the appeal bond", async function () {
      const { sys, disputeId } = await honestRuling();
      const lines: string[] = [];
      const cfg = { audit: false, callTimeouts: false };
      const noAppeal = track(
        startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(tmp, "appeal-off"), cfg), { logger: capture(lines) }),
      );
      miner.start();
      await waitFor("the contrary ruling logged", async () => lines.some((l) => l.includes("ruling goes against us; not appealing")));
      await stop(noAppeal);
      expect(await sys.disputeManager.queryFilter(sys.disputeManager.filters.Appealed(disputeId))).to.have.length(0);

      const before = await sys.stakeToken.balanceOf(sys.challenger.address);
      track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(tmp, "appeal-on"), { ...cfg, appeal: true })));
      const [ev] = await waitFor("appealed", async () => {
        const evs = await sys.disputeManager.queryFilter(sys.disputeManager.filters.Appealed(disputeId));
        return evs.length > 0 ? evs : undefined;
      });
      const bond = (await sys.disputeManager.params()).appealBond;
      expect(ev!.args.appellant).to.equal(sys.challenger.address);
      expect(ev!.args.bond).to.equal(bond);
      expect(await sys.stakeToken.balanceOf(sys.challenger.address)).to.equal(before - bond);
      const d = await sys.disputeManager.getDispute(disputeId);
      expect(d.appeals).to.equal(1n);
      expect(d.phase).to.equal(BigInt(Phase.AwaitingDraw)); // a new, larger round follows
      await mine(3);
      expect(await sys.disputeManager.queryFilter(sys.disputeManager.filters.Appealed(disputeId))).to.have.length(1);
    });
  });

  it("after downtime: chunked backfill, drawn as the only eligible auditor (confirmations 2), attests, finalizes, releases and withdraws its fee", async function () {
    const sys = await loadFixture(deploySystem);
    // Juror 0 runs the daemon; every other juror leaves the jury (from the next epoch), so the draw can only pick it.
    const auditor = sys.jurors[0]!;
    for (const j of sys.jurors.slice(1)) await sys.stakeManager.connect(j).leaveJury(JUROR_STAKE);
    await enterNextEpoch(sys.stakeManager);
    const requester = await Requester.open(path.join(tmp, "auditor-req"));
    try {
      const proxy = await startRpcProxy({ upstream: network.provider as unknown as Eip1193Provider });
      proxies.push(proxy);
      const dir = path.join(tmp, "auditor");
      const cfg = await verifierConfig(sys, JUROR_ACCOUNT(0), dir, {
        rpcUrls: [proxy.url],
        eip1193: undefined,
        confirmations: 2,
        logChunkSize: 4,
        audit: false,
        challenge: false,
      });
      const ticks: Tick[] = [];
      const first = track(startVerifier(cfg, { onTick: (t) => ticks.push(t) }));
      await mine(3);
      await waitFor("first tick", async () => ticks.length > 0);
      await stop(first); // down from here

      const { jobId } = await requester.post(sys);
      track(await startWorker(sys, path.join(tmp, "auditor-worker")));
      await waitFor("submitted", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted, 120_000);
      await mine(40);
      const logsBefore = proxy.count("eth_getLogs");
      track(startVerifier(cfg));
      miner.start();

      const attested = await waitFor(
        "attested",
        async () => (await sys.auditManager.queryFilter(sys.auditManager.filters.Attested(jobId, auditor.address)))[0],
        120_000,
      );
      // Backfilled in ranges of at most 4 blocks.
      expect(proxy.count("eth_getLogs") - logsBefore).to.be.greaterThanOrEqual(10);
      expect(await sys.auditManager.auditorsOf(jobId)).to.deep.equal([auditor.address]);
      expect(attested.args.sampleIntervals.map(Number)).to.deep.equal(
        (await sys.auditManager.sampleOf(jobId, auditor.address)).map(Number),
      );
      expect(readRecords(dir, (r) => r.audit(jobId)?.kind)).to.equal("passed");

      const balance = await sys.payToken.balanceOf(auditor.address);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      // Any job may be a canary (v3 V11.1): the attester is released after the canary reveal period.
      await waitFor("finalized", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Finalized);
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + (await sys.auditManager.canaryRevealPeriod()) + 1n);
      const released = await waitFor(
        "released",
        async () => (await sys.auditManager.queryFilter(sys.auditManager.filters.AttesterReleased(jobId, auditor.address)))[0],
      );
      expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Finalized);
      const fee = released.args.fee;
      expect(fee).to.be.greaterThan(0n);
      const payToken = await sys.payToken.getAddress();
      const [withdrawn] = await waitFor("fee withdrawn", async () => {
        const evs = await sys.auditManager.queryFilter(sys.auditManager.filters.CreditWithdrawn(payToken, auditor.address));
        return evs.length > 0 ? evs : undefined;
      });
      expect(withdrawn!.args.amount).to.equal(fee);
      expect(await sys.payToken.balanceOf(auditor.address)).to.equal(balance + fee);
      expect(await sys.auditManager.credits(payToken, auditor.address)).to.equal(0n);
    } finally {
      await requester.close();
    }
  });
});
