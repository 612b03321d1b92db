/**
 * The verifier daemon's keeper duties (verifier/daemon/keeper): the pure decisions, the header
 * rebuild and source probe, and the real daemon on the in-process Hardhat network revealing
 * PrevrandaoRandomness seeds, re-pinpointing after an Indeterminate ruling, reopening a voided
 * dispute, and settling an answered availability challenge.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ethers, network } from "hardhat";
import pino from "pino";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, type ContractRunner } from "ethers";
import { PrevrandaoRandomness__factory } from "../../../typechain-types";
import { BlockHeaderRebuildError, fetchProvenHeader, type RpcSend } from "../../../verifier/chain/blockHeader";
import { createMetrics } from "../../../verifier/chain/metrics";
import { createProvider, type Eip1193Provider } from "../../../verifier/chain/rpc";
import { resolveVerifierConfig } from "../../../verifier/daemon/config";
import { VerifierConfigError } from "../../../verifier/daemon/errors";
import { parseVerifierStart, tempDir, testKey, withEnv } from "../cli/helpers";
import { mayPinpoint, pinpointKey, randomnessActions, settleDecision, type TargetFacts } from "../../../verifier/daemon/keeper/decide";
import { detectRandomnessSource } from "../../../verifier/daemon/keeper/source";
import { solveDispute } from "../../../verifier/daemon/solver/disputeSolver";
import { ChunkStatus, JobStatus, Phase, type DisputeFacts } from "../../../verifier/daemon/solver/types";
import {
  deploySystem,
  drawCommittee,
  openDispute,
  pinpoint,
  seatsOf,
  stepRange,
  submittedJob,
  vote,
  type System,
} from "../../helpers/system";
import {
  CHALLENGER_ACCOUNT,
  Miner,
  Requester,
  readRecords,
  startVerifier,
  startWorker,
  stop,
  testLogger,
  verifierConfig,
  waitFor,
  type Running,
} from "./harness";
import { Ruling } from "../../../verifier/protocol/enums";

const STRANGER_ACCOUNT = 5;
const t = (block: bigint, over: Partial<TargetFacts> = {}): TargetFacts => ({ block, available: false, expired: false, ...over });

describe("verifier keeper: decisions", function () {
  it("prevrandao: reveals each pending target once it is final, never an available, expired or future one", function () {
    const targets = [t(10n), t(10n), t(11n, { available: true }), t(12n, { expired: true }), t(13n), t(30n), t(0n)];
    expect(randomnessActions({ source: "prevrandao", targets, finalBlock: 20n })).to.deep.equal([
      { type: "reveal", block: 10n },
      { type: "reveal", block: 13n },
    ]);
  });

  it("blockhash: nothing to do, the draw reads blockhash itself", function () {
    expect(randomnessActions({ source: "blockhash", targets: [t(5n)], finalBlock: 20n })).to.deep.equal([]);
  });

  it("l1origin: checkpoints while the target is the L1 origin, reveals once checkpointed, never checkpoints an origin nobody targets", function () {
    expect(randomnessActions({ source: "l1origin", targets: [t(100n)], finalBlock: 0n, l1Origin: 100n })).to.deep.equal([
      { type: "checkpoint", l1Origin: 100n },
    ]);
    expect(randomnessActions({ source: "l1origin", targets: [t(100n)], finalBlock: 0n, l1Origin: 99n })).to.deep.equal([]);
    expect(
      randomnessActions({ source: "l1origin", targets: [t(100n, { checkpointed: true })], finalBlock: 0n, l1Origin: 101n }),
    ).to.deep.equal([{ type: "reveal", block: 100n }]);
    // A target that passed unrecorded is expired: the draw re-targets it.
    expect(randomnessActions({ source: "l1origin", targets: [t(100n, { expired: true })], finalBlock: 0n, l1Origin: 101n })).to.deep.equal(
      [],
    );
  });

  it("vrf: requests a reached target once", function () {
    const targets = [t(5n), t(6n, { requested: true }), t(50n)];
    expect(randomnessActions({ source: "vrf", targets, finalBlock: 20n })).to.deep.equal([{ type: "request", block: 5n }]);
  });

  it("settles answered challenges only once the job is over; forgets timed-out and settled ones; waits on open ones", function () {
    const d = settleDecision([
      { challengeId: 1n, status: ChunkStatus.Answered, jobStatus: JobStatus.Submitted },
      { challengeId: 2n, status: ChunkStatus.Answered, jobStatus: JobStatus.Finalized },
      { challengeId: 3n, status: ChunkStatus.Answered, jobStatus: JobStatus.Rejected },
      { challengeId: 4n, status: ChunkStatus.TimedOut, jobStatus: JobStatus.Rejected },
      { challengeId: 5n, status: ChunkStatus.Settled, jobStatus: JobStatus.Finalized },
      { challengeId: 6n, status: ChunkStatus.Open, jobStatus: JobStatus.Submitted },
    ]);
    expect(d).to.deep.equal({ settle: [2n, 3n], forget: [4n, 5n] });
  });

  describe("re-pinpoint (v3 V9.3)", function () {
    const base: DisputeFacts = {
      disputeId: 3n,
      jobId: 1n,
      now: 1000n,
      block: 80,
      jobStatus: JobStatus.Submitted,
      phase: Phase.Pinpointing,
      round: 1,
      deadline: 2000n,
      randomnessBlock: 0,
      commitEnd: 0n,
      revealEnd: 0n,
      appealEnd: 0n,
      isChallenger: true,
      randomnessReady: false,
      juror: { drawn: false, committed: false, revealed: false },
      roundJurors: 0,
      roundCommits: 0,
      roundReveals: 0,
      vote: undefined,
      judging: false,
      locate: { kind: "found", localStep: 1 },
      locating: false,
      boundary: undefined,
      chainLeaves: undefined,
      chunks: [],
      ruling: 3,
      appeals: 0,
      maxAppeals: 1,
      belief: undefined,
      pinpoints: 1,
      locatedJudged: false,
    };
    const policy = { callTimeouts: true, deadlineMarginSec: 10n, appeal: false };

    it("pinpoints the located step again after an Indeterminate ruling, under a new journal key", function () {
      expect(solveDispute(base, policy)).to.deep.equal([{ type: "pinpoint", localStep: 1 }]);
      expect(pinpointKey(3n, 0)).to.equal("pinpoint:3");
      expect(pinpointKey(3n, 1)).to.equal("pinpoint:3:1");
      expect(pinpointKey(3n, 2)).to.not.equal(pinpointKey(3n, 1));
    });

    it("names no step judged honest in another dispute (the pinpoint would revert), nor any when switched off", function () {
      expect(solveDispute({ ...base, locatedJudged: true }, policy)).to.deep.equal([]);
      expect(solveDispute(base, { ...policy, repinpoint: false })).to.deep.equal([]);
      // The first pinpoint never depends on either.
      expect(mayPinpoint(0, true, false)).to.equal(true);
      expect(mayPinpoint(2, false, true)).to.equal(true);
    });
  });
});

describe("verifier keeper: config", function () {
  const ADDR = "0x00000000000000000000000000000000000000aa";
  const base = { jobMarket: ADDR, auditManager: ADDR, disputeManager: ADDR, dataDir: "/tmp/x", rpcUrls: ["http://127.0.0.1:8545"] };

  it("every duty is on by default; an unknown randomness source is refused by name", function () {
    const c = resolveVerifierConfig(base);
    expect([c.keepRandomness, c.reopenVoided, c.settleAvailability, c.repinpoint, c.randomnessSource, c.l1RpcUrls]).to.deep.equal([
      true,
      true,
      true,
      true,
      "auto",
      [],
    ]);
    expect(() => resolveVerifierConfig({ ...base, randomnessSource: "dice" as "auto" })).to.throw(VerifierConfigError, /randomnessSource/);
  });

  it("`verifier start` flags switch each duty off and name the source and the L1 RPC", async function () {
    const dir = tempDir();
    const key = await testKey(dir);
    const got = await withEnv({}, () =>
      parseVerifierStart([
        "--job-market",
        ADDR,
        "--audit-manager",
        ADDR,
        "--dispute-manager",
        ADDR,
        "--rpc-url",
        "http://127.0.0.1:8545",
        "--data-dir",
        dir,
        "--log-level",
        "silent",
        ...key.args,
        "--no-keep-randomness",
        "--no-repinpoint",
        "--no-reopen-voided",
        "--no-settle-availability",
        "--randomness-source",
        "l1origin",
        "--l1-rpc-url",
        "http://l1.example:8545,http://l1b.example:8545",
      ]),
    );
    expect([got?.keepRandomness, got?.repinpoint, got?.reopenVoided, got?.settleAvailability]).to.deep.equal([false, false, false, false]);
    expect(got?.randomnessSource).to.equal("l1origin");
    expect(got?.l1RpcUrls).to.deep.equal(["http://l1.example:8545", "http://l1b.example:8545"]);
  });
});

describe("verifier keeper: header rebuild and source probe", function () {
  const hardhat: RpcSend = { send: (m, p) => network.provider.send(m, p) };

  it("rebuilds a real header that hashes to the block hash", async function () {
    const { rlp, block } = await fetchProvenHeader(hardhat, "latest");
    expect(keccak256(rlp)).to.equal(block.hash);
  });

  it("refuses a block whose fields an RPC altered (another mixHash): nothing that does not hash to the block hash is revealed", async function () {
    const lying: RpcSend = {
      send: async (m, p) => ({ ...((await network.provider.send(m, p)) as object), mixHash: "0x" + "11".repeat(32) }),
    };
    await fetchProvenHeader(lying, "latest").then(
      () => expect.fail("a forged header must be refused"),
      (e: unknown) => expect(e).to.be.instanceOf(BlockHeaderRebuildError),
    );
  });

  it("tells the four sources apart by their own views", async function () {
    const prevrandao = await ethers.deployContract("PrevrandaoRandomness");
    const oracle = await ethers.deployContract("L1BlockMock");
    const l1origin = await ethers.deployContract("L1OriginRandomness", [await oracle.getAddress()]);
    const coordinator = await ethers.deployContract("VrfCoordinatorMock");
    const vrf = await ethers.deployContract("VrfRandomness", [await coordinator.getAddress()]);
    const blockhash = await ethers.deployContract("BlockhashRandomness");
    // The daemon's own provider (reverts surface as ethers CALL_EXCEPTIONs through it).
    const p = createProvider({ eip1193: network.provider as unknown as Eip1193Provider, logger: testLogger });
    try {
      expect(await detectRandomnessSource(await prevrandao.getAddress(), p)).to.equal("prevrandao");
      expect(await detectRandomnessSource(await l1origin.getAddress(), p)).to.equal("l1origin");
      expect(await detectRandomnessSource(await vrf.getAddress(), p)).to.equal("vrf");
      expect(await detectRandomnessSource(await blockhash.getAddress(), p)).to.equal("blockhash");
    } finally {
      p.destroy();
    }
  });

  it("an RPC failure during the probe is an error, never read as 'blockhash' (which would skip every reveal)", async function () {
    const down = {
      provider: ethers.provider,
      call: async () => Promise.reject(new Error("connect ECONNREFUSED")),
    } as unknown as ContractRunner;
    await detectRandomnessSource(ethers.ZeroAddress, down).then(
      () => expect.fail("the probe must fail"),
      (e: unknown) => expect(String(e)).to.match(/ECONNREFUSED/),
    );
  });
});

describe("verifier keeper: the daemon on the in-process chain", function () {
  this.timeout(300_000);
  let tmp: string;
  const miner = new Miner();
  const running: Running[] = [];

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-keeper-"));
  });
  after(async function () {
    await rm(tmp, { recursive: true, force: true });
  });
  afterEach(async function () {
    miner.stop();
    for (const r of running.splice(0)) await stop(r);
  });
  function track(r: Running): Running {
    running.push(r);
    return r;
  }

  async function prevrandaoSystem(): Promise<System> {
    return deploySystem({ randomnessSource: "prevrandao", auditDrawDelay: 64, dispute: { randomnessDelay: 64 } });
  }

  it("PrevrandaoRandomness: reveals the seed headers so that the committee and the auditors get drawn; with the duty off nothing is drawn", async function () {
    const sys = await loadFixture(prevrandaoSystem);
    const rnd = PrevrandaoRandomness__factory.connect(await sys.disputeManager.randomness(), sys.admin);
    const jobId = await submittedJob(sys);
    const disputeId = await openDispute(sys, jobId, 1);
    await pinpoint(sys, disputeId, 0);
    const target = (await sys.disputeManager.getDispute(disputeId)).randomnessBlock;
    const auditTarget = (await sys.auditManager.getAudit(jobId)).drawTarget;
    expect(target).to.be.greaterThan(0n);
    expect(auditTarget).to.be.greaterThan(0n);
    const past = (target > auditTarget ? target : auditTarget) + 3n;

    // Without the keeper: ticks well past both targets, neither seed readable, nothing drawn.
    const dir = path.join(tmp, "prevrandao-keeper");
    let lastTick = 0;
    const off = track(
      startVerifier(await verifierConfig(sys, STRANGER_ACCOUNT, dir, { audit: false, challenge: false, keepRandomness: false }), {
        onTick: (k) => (lastTick = k.block),
      }),
    );
    miner.start(100); // one block at a time: batch-mined blocks carry no prevrandao
    await waitFor("ticks past the targets", async () => BigInt(lastTick) > past);
    await stop(off);
    expect(await rnd.isAvailable(target)).to.equal(false);
    expect(await rnd.isAvailable(auditTarget)).to.equal(false);
    expect((await sys.disputeManager.getDispute(disputeId)).phase).to.equal(BigInt(Phase.AwaitingDraw));
    expect((await sys.auditManager.getAudit(jobId)).drawn).to.equal(false);

    // With it (the default): both headers revealed by this node, both draws run.
    const metrics = createMetrics();
    track(startVerifier(await verifierConfig(sys, STRANGER_ACCOUNT, dir, { audit: false, challenge: false }), { metrics }));
    await waitFor(
      "committee drawn",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.CommitteeDrawn(disputeId))).length > 0,
    );
    await waitFor("auditors drawn", async () => (await sys.auditManager.getAudit(jobId)).drawn);
    const reveals = await rnd.queryFilter(rnd.filters.RandomnessRevealed());
    expect(reveals.map((e) => e.args.blockNumber).sort()).to.deep.equal([target, auditTarget].sort());
    for (const e of reveals) expect(e.args.revealer).to.equal(sys.stranger.address);
    expect((await sys.disputeManager.getDispute(disputeId)).randomnessBlock).to.equal(target); // no re-roll
    expect(await metrics.registry.metrics()).to.match(/upow_keeper_actions_total\{duty="randomness-reveal"[^}]*\} 2/);
  });

  it("reopens its own voided dispute once; the new dispute is followed and inherits the located step", async function () {
    const sys = await loadFixture(deploySystem);
    const dm = sys.disputeManager;
    const jobId = await submittedJob(sys);
    const voidedId = await openDispute(sys, jobId, 1);
    await pinpoint(sys, voidedId, 0);
    // Two rounds without a single reveal: quorum missed maxRounds times → Void.
    for (let round = 0; round < 2; round++) {
      const jurors = await drawCommittee(sys, voidedId);
      await vote(
        sys,
        voidedId,
        jurors,
        jurors.map(() => 0),
      );
      await time.increaseTo((await dm.getDispute(voidedId)).revealEnd + 1n);
      await dm.resolve(voidedId);
    }
    expect((await dm.getDispute(voidedId)).ruling).to.equal(Ruling.Void);

    const dir = path.join(tmp, "reopen-challenger");
    // What this challenger had located in the voided dispute carries over to the reopened one.
    const located = { kind: "found" as const, localStep: 1 };
    readRecords(dir, (r) => r.putLocate(voidedId, located));
    track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, dir, { audit: false, challenge: false })));
    miner.start();
    const ev = await waitFor("reopened", async () => (await dm.queryFilter(dm.filters.DisputeReopened(undefined, voidedId)))[0]);
    const reopened = ev.args.disputeId;
    expect((await dm.getDispute(reopened)).challenger).to.equal(sys.challenger.address);
    // Followed, and never reopened twice across ticks.
    await waitFor("ticks", async () => BigInt(await ethers.provider.getBlockNumber()) > BigInt(ev.blockNumber) + 10n);
    await stop(running.pop());
    expect(readRecords(dir, (r) => r.followedDisputes())).to.include(reopened);
    expect(readRecords(dir, (r) => r.locate(reopened))).to.deep.equal(located);
    expect(await dm.queryFilter(dm.filters.DisputeReopened())).to.have.length(1);
  });

  it("settles its answered availability challenge once the job is over and withdraws the bond", async function () {
    const sys = await loadFixture(deploySystem);
    const da = sys.dataAvailability;
    const jobId = await submittedJob(sys);
    const disputeId = await openDispute(sys, jobId, 1);
    await da.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 0, 3);
    const [opened] = await da.queryFilter(da.filters.ChallengeOpened(undefined, jobId, disputeId));
    const challengeId = opened!.args.challengeId;
    const r = stepRange(sys.traj, 1, 0, 3);
    await da.connect(sys.worker).answerStepLeaves(challengeId, r.stateHashes, r.proof);
    // The dispute ends (no step named) and the job finalizes: the bond may now be settled.
    await time.increaseTo((await sys.disputeManager.pinpointDeadline(disputeId)) + 1n);
    await sys.disputeManager.timeoutPinpoint(disputeId);
    await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
    await sys.jobMarket.finalize(jobId);
    const bond = (await da.getChallenge(challengeId)).bond;
    const fee = (await da.params()).answerFee;

    const before = await sys.stakeToken.balanceOf(sys.challenger.address);
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    track(
      startVerifier(
        await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(tmp, "settle-challenger"), { audit: false, challenge: false }),
        { logger },
      ),
    );
    miner.start();
    const settled = await waitFor("settled", async () => (await da.queryFilter(da.filters.ChallengeSettled(challengeId)))[0]);
    expect(settled.args.toOpener).to.equal(bond - fee);
    expect((await settled.getTransaction()).from).to.equal(sys.challenger.address);
    await waitFor("withdrawn", async () => (await da.queryFilter(da.filters.Withdrawn(sys.challenger.address))).length > 0);
    expect(await da.credits(sys.challenger.address)).to.equal(0n);
    expect(await sys.stakeToken.balanceOf(sys.challenger.address)).to.be.greaterThan(before); // the bond, less the answer fee
    // Logged with units (the fixture's staking token is "STK"), the exact base units beside.
    const w = await waitFor("withdrawal logged", async () => lines.find((l) => l.msg === "availability credits withdrawn"));
    expect(w).to.include({ credits: `${ethers.formatUnits(bond - fee, 18).replace(/\.0$/, "")} STK`, creditsRaw: (bond - fee).toString() });
  });

  describe("with a real cheating worker", function () {
    let requester: Requester;
    before(async function () {
      requester = await Requester.open(tmp);
    });
    after(async function () {
      await requester.close();
    });

    it("re-pinpoints after an Indeterminate ruling (PinpointReopened), the same located step under a fresh committee", async function () {
      const sys = await loadFixture(deploySystem);
      const dm = sys.disputeManager;
      const { jobId } = await requester.post(sys);
      track(await startWorker(sys, path.join(tmp, "repin-worker"), { cheat: { kind: "skip", fraction: 1 } }));
      track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(tmp, "repin-challenger"))));
      miner.start();
      const opened = await waitFor(
        "dispute opened",
        async () => (await dm.queryFilter(dm.filters.DisputeOpened(undefined, jobId)))[0],
        240_000,
      );
      const disputeId = opened.args.disputeId;
      const first = await waitFor("first pinpoint", async () => (await dm.queryFilter(dm.filters.StepPinpointed(disputeId)))[0], 240_000);
      // The daemon draws the committee; the (hand-played) jurors all vote Indeterminate.
      await waitFor("committee", async () => Number((await dm.getDispute(disputeId)).phase) === Phase.Voting);
      const seats = await seatsOf(sys, disputeId, 0);
      await vote(
        sys,
        disputeId,
        seats,
        seats.map(() => 3),
      );
      await waitFor("ruled", async () => Number((await dm.getDispute(disputeId)).phase) === Phase.Ruled);
      expect((await dm.getDispute(disputeId)).ruling).to.equal(Ruling.Indeterminate);
      await time.increaseTo((await dm.getDispute(disputeId)).appealEnd + 1n);
      await waitFor("pinpoint reopened", async () => (await dm.queryFilter(dm.filters.PinpointReopened(disputeId))).length > 0);
      const again = await waitFor("second pinpoint", async () => (await dm.queryFilter(dm.filters.StepPinpointed(disputeId)))[1]);
      expect(again.args.globalStep).to.equal(first.args.globalStep);
      const d = await dm.getDispute(disputeId);
      expect(d.pinpoints).to.equal(2n);
      expect(d.round).to.equal(1n);
    });
  });
});
