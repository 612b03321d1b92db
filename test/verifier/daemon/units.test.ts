/**
 * Pure parts of the verifier daemon: the scheduler's bound and budgets, the solvers' decisions,
 * the audit sample against its documented rule, the config checks.
 */
import { expect } from "chai";
import { AbiCoder, keccak256 } from "ethers";
import pino from "pino";
import { auditSample } from "../../../verifier/protocol/auditSample";
import { jurorSettings, REFERENCE_SETTINGS } from "../../../verifier/daemon/check/runners";
import { resolveVerifierConfig, type VerifierConfig } from "../../../verifier/daemon/config";
import { isReferenceSettings, verifierSettings } from "../../../verifier/daemon/check/runners";
import { JobBudgetExceededError, SchedulerBusyError, VerifierConfigError } from "../../../verifier/daemon/errors";
import { Scheduler } from "../../../verifier/daemon/scheduler/scheduler";
import { parseVerifierStart, tempDir, testKey, withEnv } from "../cli/helpers";
import { solveDispute } from "../../../verifier/daemon/solver/disputeSolver";
import { solveJob } from "../../../verifier/daemon/solver/jobSolver";
import {
  AuditorState,
  ChunkStatus,
  JobStatus,
  Phase,
  Ruling,
  type DisputeFacts,
  type JobFacts,
} from "../../../verifier/daemon/solver/types";

const logger = pino({ level: "silent" });
const ADDR = "0x00000000000000000000000000000000000000aa";

describe("verifier daemon: scheduler", function () {
  it("runs at most `concurrency` tasks, queues up to `maxQueued`, refuses the rest as Busy", async function () {
    const s = new Scheduler({ concurrency: 1, maxQueued: 1, logger });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const a = s.schedule("a", async () => {
      order.push("a");
      await gate;
      return 1;
    });
    const b = s.schedule("b", async () => {
      order.push("b");
      return 2;
    });
    expect(s.stats()).to.deep.include({ running: 1, queued: 1 });
    await s
      .schedule("c", async () => 3)
      .then(
        () => expect.fail("c should be refused"),
        (e) => expect(e).to.be.instanceOf(SchedulerBusyError),
      );
    // Same key: same promise, no new work.
    expect(s.schedule("a", async () => 99)).to.equal(a);
    release();
    expect(await a).to.equal(1);
    expect(await b).to.equal(2);
    expect(order).to.deep.equal(["a", "b"]);
    expect(s.stats()).to.deep.equal({ running: 0, queued: 0, refused: 1 });
    s.close();
  });

  it("aborts a task that runs past its budget and frees its slot", async function () {
    const s = new Scheduler({ concurrency: 1, maxQueued: 0, logger });
    let sawAbort = false;
    const t = s.schedule(
      "slow",
      (signal) =>
        new Promise((resolve) =>
          signal.addEventListener("abort", () => {
            sawAbort = true;
            resolve(0);
          }),
        ),
      { budgetMs: 30 },
    );
    await t.then(
      () => expect.fail("should exceed budget"),
      (e) => expect(e).to.be.instanceOf(JobBudgetExceededError),
    );
    expect(sawAbort).to.equal(true);
    expect(await s.schedule("next", async () => "ok")).to.equal("ok");
    s.close();
  });
});

describe("verifier daemon: audit sample", function () {
  it("follows docs/encoding.md: distinct intervals, draw order, min(s, n-1)", function () {
    const seed = keccak256("0x01");
    const sample = auditSample({ auditSeed: seed, jobId: 7n, verifier: ADDR, checkpointCount: 9, samples: 3 });
    // Recompute by the written rule.
    const c = AbiCoder.defaultAbiCoder();
    const ss = keccak256(c.encode(["bytes32", "uint256", "address"], [seed, 7n, ADDR]));
    const want: number[] = [];
    for (let m = 0n; want.length < 3; m++) {
      const v = Number(BigInt(keccak256(c.encode(["bytes32", "uint256"], [ss, m]))) % 8n);
      if (!want.includes(v)) want.push(v);
    }
    expect(sample).to.deep.equal(want);
    const all = auditSample({ auditSeed: seed, jobId: 7n, verifier: ADDR, checkpointCount: 5, samples: 8 });
    expect([...all].sort()).to.deep.equal([0, 1, 2, 3]);
    expect(() => auditSample({ auditSeed: seed, jobId: 1n, verifier: ADDR, checkpointCount: 1, samples: 1 })).to.throw(/checkpointCount/);
  });
});

const jobBase: JobFacts = {
  jobId: 1n,
  status: JobStatus.Submitted,
  now: 1000n,
  block: 50,
  windowEnd: 2000n,
  openDisputes: 0,
  checkpointCount: 5,
  auditorsDrawn: true,
  seedReady: true,
  auditorState: AuditorState.None,
  auditSettled: false,
  releasableAfter: 0n,
  audit: undefined,
  auditRunning: false,
  challenges: [],
  activeDisputes: new Map(),
};
const policy = { audit: true, challenge: true, callTimeouts: true, deadlineMarginSec: 10n };

describe("verifier daemon: job solver", function () {
  it("audits a submitted job once its seed is known (auditors drawn), and not twice", function () {
    expect(solveJob(jobBase, policy)).to.deep.equal([{ type: "audit" }]);
    expect(solveJob({ ...jobBase, auditRunning: true }, policy)).to.deep.equal([]);
    // Not drawn: the seed is not fixed yet; a keeper draws (or schedules the draw's seed) first.
    expect(solveJob({ ...jobBase, auditorsDrawn: false, seedReady: false }, policy)).to.deep.equal([]);
    expect(solveJob({ ...jobBase, auditorsDrawn: false, seedReady: true }, policy)).to.deep.equal([{ type: "drawAuditors" }]);
  });

  it("attests a passed audit only when assigned, and never after the window", function () {
    const passed = { ...jobBase, audit: { kind: "passed" as const, sample: [1, 2] } };
    expect(solveJob(passed, policy)).to.deep.equal([]);
    expect(solveJob({ ...passed, auditorState: AuditorState.Assigned }, policy)).to.deep.equal([{ type: "attest", sample: [1, 2] }]);
    expect(solveJob({ ...passed, auditorState: AuditorState.Assigned, now: 1995n }, policy)).to.deep.equal([]);
  });

  it("commits, then opens one block later, on the lowest failed interval", function () {
    const failed = { ...jobBase, audit: { kind: "failed" as const, sample: [0, 1, 2, 3], failedIntervals: [3, 1], reason: "x" } };
    expect(solveJob(failed, policy)).to.deep.equal([{ type: "commitChallenge", interval: 1 }]);
    const rec = { interval: 1, salt: "0x" + "11".repeat(32), commitment: "0x" + "22".repeat(32), commitBlock: 50, disputeId: null };
    expect(solveJob({ ...failed, challenges: [rec] }, policy)).to.deep.equal([]); // same block: too recent
    expect(solveJob({ ...failed, block: 51, challenges: [rec] }, policy)).to.deep.equal([
      { type: "openDispute", interval: 1, salt: rec.salt },
    ]);
    // Our dispute is active: wait for it.
    expect(
      solveJob({ ...failed, block: 60, challenges: [{ ...rec, disputeId: 4n }], activeDisputes: new Map([[1, 4n]]) }, policy),
    ).to.deep.equal([]);
    expect(solveJob({ ...failed, challenges: [rec] }, { ...policy, challenge: false })).to.deep.equal([]);
  });

  it("finalizes after the window only with no dispute open; releases an attester after settlement", function () {
    expect(solveJob({ ...jobBase, now: 2000n }, policy)).to.deep.equal([{ type: "finalize" }]);
    expect(solveJob({ ...jobBase, now: 2000n, openDisputes: 1 }, policy)).to.deep.equal([]);
    expect(solveJob({ ...jobBase, now: 2000n }, { ...policy, callTimeouts: false })).to.deep.equal([]);
    expect(
      solveJob({ ...jobBase, status: JobStatus.Finalized, auditorState: AuditorState.Attested, auditSettled: true }, policy),
    ).to.deep.equal([{ type: "releaseAttester" }]);
    // any job may be a canary (v3 V11.1): not before the reveal period is over
    const settled = {
      ...jobBase,
      status: JobStatus.Finalized,
      auditorState: AuditorState.Attested,
      auditSettled: true,
      releasableAfter: 5000n,
    };
    expect(solveJob({ ...settled, now: 5000n }, policy)).to.deep.equal([]);
    expect(solveJob({ ...settled, now: 5001n }, policy)).to.deep.equal([{ type: "releaseAttester" }]);
  });
});

const dBase: DisputeFacts = {
  disputeId: 3n,
  jobId: 1n,
  now: 1000n,
  block: 80,
  jobStatus: JobStatus.Submitted,
  phase: Phase.Voting,
  round: 0,
  deadline: 0n,
  randomnessBlock: 70,
  commitEnd: 1100n,
  revealEnd: 1200n,
  appealEnd: 0n,
  isChallenger: false,
  randomnessReady: false,
  juror: { drawn: true, committed: false, revealed: false },
  roundJurors: 3,
  roundCommits: 0,
  roundReveals: 0,
  vote: undefined,
  judging: false,
  locate: undefined,
  locating: false,
  boundary: undefined,
  chainLeaves: undefined,
  chunks: [],
  ruling: 0,
  appeals: 0,
  maxAppeals: 1,
  belief: undefined,
};
const dPolicy = { callTimeouts: false, deadlineMarginSec: 10n, appeal: false };
const vote = { vote: 1 as const, salt: "0x" + "33".repeat(32) };

describe("verifier daemon: dispute solver", function () {
  it("juror: judge, then commit the stored vote, then reveal once reveals open", function () {
    expect(solveDispute(dBase, dPolicy)).to.deep.equal([{ type: "judge" }]);
    expect(solveDispute({ ...dBase, judging: true }, dPolicy)).to.deep.equal([]);
    expect(solveDispute({ ...dBase, vote }, dPolicy)).to.deep.equal([{ type: "commitVote", round: 0, vote }]);
    const committed = { ...dBase, vote, juror: { drawn: true, committed: true, revealed: false }, roundCommits: 1 };
    expect(solveDispute(committed, dPolicy)).to.deep.equal([]); // others still committing
    expect(solveDispute({ ...committed, roundCommits: 3 }, dPolicy)).to.deep.equal([{ type: "revealVote", round: 0, vote }]);
    expect(solveDispute({ ...committed, now: 1150n }, dPolicy)).to.deep.equal([{ type: "revealVote", round: 0, vote }]);
    // Too late to commit: nothing (the lock is lost, but a late commit would revert anyway).
    expect(solveDispute({ ...dBase, vote, now: 1095n }, dPolicy)).to.deep.equal([]);
  });

  it("resolves when voting is over, finalizes a ruling after the appeal window, closes moot disputes", function () {
    const over = { ...dBase, juror: { drawn: true, committed: true, revealed: true }, roundReveals: 3 };
    expect(solveDispute(over, dPolicy)).to.deep.equal([{ type: "resolve", round: 0 }]);
    expect(solveDispute({ ...dBase, juror: { drawn: false, committed: false, revealed: false }, now: 1201n }, dPolicy)).to.deep.equal([]);
    expect(
      solveDispute(
        { ...dBase, juror: { drawn: false, committed: false, revealed: false }, now: 1201n },
        { ...dPolicy, callTimeouts: true },
      ),
    ).to.deep.equal([{ type: "resolve", round: 0 }]);
    expect(solveDispute({ ...dBase, phase: Phase.Ruled, appealEnd: 999n }, dPolicy)).to.deep.equal([{ type: "finalizeRuling" }]);
    expect(solveDispute({ ...dBase, jobStatus: JobStatus.Rejected }, dPolicy)).to.deep.equal([{ type: "closeMoot" }]);
  });

  it("challenger: proves a boundary mismatch instead of locating or pinpointing, only before a ruling", function () {
    const pin = {
      ...dBase,
      phase: Phase.Pinpointing,
      isChallenger: true,
      juror: { drawn: false, committed: false, revealed: false },
      deadline: 1500n,
    };
    const split = { ...pin, boundary: { atEnd: true } };
    expect(solveDispute(split, dPolicy)).to.deep.equal([{ type: "proveBoundary", atEnd: true }]);
    expect(solveDispute({ ...split, boundary: { atEnd: false }, locate: { kind: "found", localStep: 2 } }, dPolicy)).to.deep.equal([
      { type: "proveBoundary", atEnd: false },
    ]);
    expect(solveDispute({ ...split, phase: Phase.AwaitingDraw }, dPolicy)).to.deep.equal([{ type: "proveBoundary", atEnd: true }]);
    expect(solveDispute({ ...split, phase: Phase.Voting }, dPolicy)).to.deep.equal([{ type: "proveBoundary", atEnd: true }]);
    // Not the challenger (not paid), a ruling already made, or the job no longer live: no proof.
    expect(solveDispute({ ...split, isChallenger: false }, dPolicy)).to.not.deep.include({ type: "proveBoundary", atEnd: true });
    expect(solveDispute({ ...split, phase: Phase.Ruled, appealEnd: 999n }, dPolicy)).to.deep.equal([{ type: "finalizeRuling" }]);
    expect(solveDispute({ ...split, jobStatus: JobStatus.Rejected }, dPolicy)).to.deep.equal([{ type: "closeMoot" }]);
    expect(solveDispute({ ...split, phase: Phase.Closed }, dPolicy)).to.deep.equal([]);
  });

  it("challenger: locate, pinpoint before the deadline, chunk-challenge what is not served, time it out", function () {
    const pin = {
      ...dBase,
      phase: Phase.Pinpointing,
      isChallenger: true,
      juror: { drawn: false, committed: false, revealed: false },
      deadline: 1500n,
    };
    expect(solveDispute(pin, dPolicy)).to.deep.equal([{ type: "locate" }]);
    expect(solveDispute({ ...pin, locate: { kind: "found", localStep: 2 } }, dPolicy)).to.deep.equal([{ type: "pinpoint", localStep: 2 }]);
    expect(solveDispute({ ...pin, now: 1495n, locate: { kind: "found", localStep: 2 } }, dPolicy)).to.deep.equal([]);
    const un = { ...pin, locate: { kind: "unavailable" as const, leafIndex: 1, chunkIndex: 0 } };
    expect(solveDispute(un, dPolicy)).to.deep.equal([{ type: "challengeChunk", leafIndex: 1, chunkIndex: 0 }]);
    const open = { ...un, chunks: [{ challengeId: 9n, status: ChunkStatus.Open, deadline: 1100n }] };
    expect(solveDispute(open, dPolicy)).to.deep.equal([]);
    expect(solveDispute({ ...open, now: 1101n }, dPolicy)).to.deep.equal([{ type: "timeoutChunk", challengeId: 9n }]);
  });
});

describe("verifier daemon: appeal decision (§10.7)", function () {
  const ruled = {
    ...dBase,
    phase: Phase.Ruled,
    appealEnd: 1500n,
    ruling: Ruling.WorkerHonest,
    isChallenger: true,
    belief: "fault" as const,
  };
  const on = { ...dPolicy, appeal: true };
  it("the challenger appeals a WorkerHonest ruling while the window is open, with --appeal", function () {
    expect(solveDispute(ruled, on)).to.deep.equal([{ type: "appeal", round: 0 }]);
    // Without the policy flag: only a log line.
    expect(solveDispute(ruled, dPolicy)).to.deep.equal([{ type: "rulingDisputed", why: "policy" }]);
    // Too close to the end of the window (margin), or past it: finalize instead, never appeal.
    expect(solveDispute({ ...ruled, now: 1495n }, on)).to.deep.equal([]);
    expect(solveDispute({ ...ruled, now: 1501n }, on)).to.deep.equal([{ type: "finalizeRuling" }]);
    // No appeals left.
    expect(solveDispute({ ...ruled, appeals: 1 }, on)).to.deep.equal([{ type: "rulingDisputed", why: "max-appeals" }]);
  });
  it("agreeing or Indeterminate rulings are not appealed; a juror outvoted is not a party", function () {
    const on2 = { ...dPolicy, appeal: true };
    expect(solveDispute({ ...ruled, ruling: Ruling.WorkerFault }, on2)).to.deep.equal([]);
    expect(solveDispute({ ...ruled, ruling: Ruling.Indeterminate }, on2)).to.deep.equal([]);
    expect(solveDispute({ ...ruled, belief: undefined }, on2)).to.deep.equal([]);
    const juror = { ...ruled, isChallenger: false, belief: "honest" as const, ruling: Ruling.WorkerFault };
    expect(solveDispute(juror, on2)).to.deep.equal([{ type: "rulingDisputed", why: "not-a-party" }]);
    expect(solveDispute({ ...juror, ruling: Ruling.WorkerHonest }, on2)).to.deep.equal([]);
  });
});

describe("verifier daemon: juror settings (v3 V9.1)", function () {
  const other = { threads: 2, optLevel: "basic" } as const;
  const disabled = { threads: 4, optLevel: "disabled" } as const;

  it("runs the reference setting (1 thread, opt all) first whatever the operator configured", function () {
    expect(REFERENCE_SETTINGS).to.deep.equal({ threads: 1, optLevel: "all" });
    expect(jurorSettings([other, disabled])).to.deep.equal([REFERENCE_SETTINGS, disabled]);
    expect(jurorSettings([disabled, other])).to.deep.equal([REFERENCE_SETTINGS, other]);
  });

  it("takes the operator's first setting as the other one when the second is the reference", function () {
    expect(jurorSettings([other, { threads: 1, optLevel: "all" }])).to.deep.equal([REFERENCE_SETTINGS, other]);
    expect(jurorSettings([REFERENCE_SETTINGS, REFERENCE_SETTINGS])).to.deep.equal([REFERENCE_SETTINGS, REFERENCE_SETTINGS]);
  });
});

describe("verifier daemon: config", function () {
  const base = { jobMarket: ADDR, auditManager: ADDR, disputeManager: ADDR, dataDir: "/tmp/x", rpcUrls: ["http://127.0.0.1:8545"] };
  it("fills defaults and names the bad field", function () {
    const c = resolveVerifierConfig(base);
    expect(c.confirmations).to.equal("auto");
    expect(c.audit).to.equal(true);
    expect(() => resolveVerifierConfig({ ...base, rpcUrls: [] })).to.throw(VerifierConfigError, /rpcUrls/);
    expect(() => resolveVerifierConfig({ ...base, jobMarket: "0x12" })).to.throw(VerifierConfigError, /jobMarket/);
    expect(() => resolveVerifierConfig({ ...base, concurrency: 0 })).to.throw(VerifierConfigError, /concurrency/);
  });

  it("refuses private artifact addresses unless --allow-private-artifacts or UPOW_ALLOW_PRIVATE_ARTIFACTS says otherwise (V8.4)", async function () {
    expect(resolveVerifierConfig(base).allowPrivateArtifacts).to.equal(false);
    const dir = tempDir();
    const key = await testKey(dir);
    const parse = (extra: string[]): Promise<VerifierConfig> =>
      parseVerifierStart([
        "--rpc-url",
        "http://127.0.0.1:8545",
        "--job-market",
        ADDR,
        "--audit-manager",
        ADDR,
        "--dispute-manager",
        ADDR,
        "--data-dir",
        dir,
        "--log-level",
        "silent",
        ...key.args,
        ...extra,
      ]);
    await withEnv({}, async () => {
      expect((await parse([])).allowPrivateArtifacts).to.equal(false);
      expect((await parse(["--allow-private-artifacts"])).allowPrivateArtifacts).to.equal(true);
    });
    await withEnv({ UPOW_ALLOW_PRIVATE_ARTIFACTS: "1" }, async () => expect((await parse([])).allowPrivateArtifacts).to.equal(true));
  });

  it("takes the juror's second execution provider from --juror-ep or UPOW_JUROR_EP and refuses unknown ones by name", async function () {
    expect(resolveVerifierConfig(base).jurorEp).to.equal("cpu");
    expect(() => resolveVerifierConfig({ ...base, jurorEp: "tpu" as VerifierConfig["jurorEp"] })).to.throw(
      VerifierConfigError,
      /jurorEp must be one of cpu, webgpu, cuda/,
    );
    const dir = tempDir();
    const key = await testKey(dir);
    const parse = (extra: string[]): Promise<VerifierConfig> =>
      parseVerifierStart([
        "--rpc-url",
        "http://127.0.0.1:8545",
        "--job-market",
        ADDR,
        "--audit-manager",
        ADDR,
        "--dispute-manager",
        ADDR,
        "--data-dir",
        dir,
        "--log-level",
        "silent",
        ...key.args,
        ...extra,
      ]);
    await withEnv({}, async () => expect((await parse(["--juror-ep", "webgpu"])).jurorEp).to.equal("webgpu"));
    await withEnv({ UPOW_JUROR_EP: "cuda" }, async () => expect((await parse([])).jurorEp).to.equal("cuda"));
  });

  it("pairs the reference with the juror's other run; a GPU setting with the reference's threads and level is not the reference", function () {
    expect(verifierSettings()).to.deep.equal([REFERENCE_SETTINGS, { threads: 2, optLevel: "basic" }]);
    const [ref, other] = verifierSettings("webgpu");
    expect(ref).to.equal(REFERENCE_SETTINGS);
    expect(other).to.deep.equal({ ep: "webgpu", threads: 1, optLevel: "all" });
    // Without the EP in the comparison, jurorSettings would take this for the reference and run
    // the CPU reference twice: a juror configured for cross-implementation noise would measure none.
    expect(isReferenceSettings(other)).to.equal(false);
    expect(jurorSettings([other, ref])).to.deep.equal([REFERENCE_SETTINGS, other]);
    expect(jurorSettings([ref, other])).to.deep.equal([REFERENCE_SETTINGS, other]);
  });

  it("bounds the work it accepts (V8.1, V8.3): cost caps and step-budget rates", function () {
    const c = resolveVerifierConfig(base);
    expect(c.maxFlopsPerStep).to.equal(10n ** 13n);
    expect(c.maxPeakBytes).to.equal(8n << 30n);
    expect(resolveVerifierConfig({ ...base, maxFlopsPerStep: 5n }).maxFlopsPerStep).to.equal(5n);
    expect(() => resolveVerifierConfig({ ...base, maxFlopsPerStep: 0n })).to.throw(VerifierConfigError, /maxFlopsPerStep/);
    expect(() => resolveVerifierConfig({ ...base, maxPeakBytes: 0n })).to.throw(VerifierConfigError, /maxPeakBytes/);
    expect(() => resolveVerifierConfig({ ...base, minFlopsPerSecond: 0 })).to.throw(VerifierConfigError, /minFlopsPerSecond/);
    expect(() => resolveVerifierConfig({ ...base, stepBaseMs: -1 })).to.throw(VerifierConfigError, /stepBaseMs/);
  });
});

describe("verifier daemon: CLI", function () {
  it("`verifier start --help` documents every flag and its env variable", async function () {
    const { buildProgram } = await import("../../../verifier/cli/main");
    // `upow` registers the verifier commands itself (verifier/cli/main.ts).
    const program = buildProgram();
    let out = "";
    program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
    for (const c of program.commands) c.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
    const start = program.commands.find((c) => c.name() === "verifier")!.commands.find((c) => c.name() === "start")!;
    start.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
    out += start.helpInformation();
    for (const flag of [
      "--rpc-url",
      "--job-market",
      "--dispute-manager",
      "--confirmations",
      "--dry-run",
      "--metrics-port",
      "--keystore",
      "--max-queued",
      "--appeal",
      "--unserved-grace-ms",
      "--log-chunk-size",
      "--allow-private-artifacts",
      "--max-flops-per-step",
      "--max-peak-bytes",
      "--min-flops-per-second",
      "--step-base-ms",
    ]) {
      expect(out).to.include(flag);
    }
    expect(out).to.include("UPOW_RPC_URLS");
    expect(out).to.not.match(/private.?key\s*=\s*0x/i);
  });
});
