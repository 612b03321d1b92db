/**
 * The verifier daemon end to end on the in-process Hardhat network: real contracts (deploySystem),
 * a real worker daemon training a tiny MNIST MLP with onnxruntime (honest or cheating), verifier
 * daemons as challenger and jurors, crash/restart on the same data dir, and RPC faults through
 * the chain layer's rpc-proxy.
 */
import { expect } from "chai";
import path from "node:path";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { startRpcProxy, type RpcProxy } from "../../../verifier/chain/rpc-proxy";
import type { Eip1193Provider } from "../../../verifier/chain/rpc";
import { deploySystem, type System } from "../../helpers/system";
import {
  CHALLENGER_ACCOUNT,
  JUROR_ACCOUNT,
  daemonTestBed,
  readRecords,
  startVerifier,
  startWorker,
  stop,
  verifierConfig,
  waitFor,
  type Running,
} from "./harness";
import { ChallengeKind, JobStatus, Ruling } from "../../../verifier/protocol/enums";

describe("verifier daemon (in-process Hardhat network, real worker)", function () {
  this.timeout(300_000);
  const bed = daemonTestBed("upow-verifierd-");
  const { miner, running } = bed;
  const proxies: RpcProxy[] = [];
  afterEach(async function () {
    for (const p of proxies.splice(0)) await p.close();
  });

  function track(r: Running): Running {
    running.push(r);
    return r;
  }

  async function jurorsOf(sys: System, disputeId: bigint): Promise<string[]> {
    const [ev] = await sys.disputeManager.queryFilter(sys.disputeManager.filters.CommitteeDrawn(disputeId));
    return ev ? [...ev.args.jurors] : [];
  }

  it("against a skip cheater: opens, pinpoints, jurors convict (one crashing between commit and reveal, RPC faults), worker slashed", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys);
    track(await startWorker(sys, path.join(bed.tmp, "skip-worker"), { cheat: { kind: "skip", fraction: 1 } }));
    const chDir = path.join(bed.tmp, "skip-challenger");
    track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, chDir)));
    miner.start();

    const opened = await waitFor(
      "dispute opened",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.DisputeOpened(undefined, jobId)))[0],
    );
    const disputeId = opened.args.disputeId;
    expect(opened.args.challenger).to.equal(sys.challenger.address);
    // The challenger's sample is the one AuditManager derives for it (same rule on chain and off).
    const audit = readRecords(chDir, (r) => r.audit(jobId));
    expect(audit?.kind).to.equal("failed");
    await waitFor(
      "step pinpointed",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.StepPinpointed(disputeId))).length > 0,
    );
    // Three seats drawn with replacement: one to three distinct jurors, each voting once for its seats.
    const jurors = await waitFor("committee", async () => {
      const j = await jurorsOf(sys, disputeId);
      return j.length > 0 ? j : undefined;
    });
    const last = jurors.length - 1;
    const accountOf = (addr: string) => JUROR_ACCOUNT(sys.jurors.findIndex((s) => s.address === addr));

    // Juror 0 and 1 start; juror 0 goes through a faulty RPC: a dead URL first, then a proxy that
    // errors, hangs and reports stale heads now and then.
    const proxy = await startRpcProxy({ upstream: network.provider as unknown as Eip1193Provider });
    proxies.push(proxy);
    proxy.addFault({ fault: { kind: "error", code: -32000, message: "injected" }, methods: ["eth_call"], times: 5 });
    proxy.addFault({ fault: { kind: "hang" }, methods: ["eth_getBlockByNumber"], times: 2 });
    proxy.addFault({ fault: { kind: "stale", blockNumber: 1 }, times: 10 });
    const j0Dir = path.join(bed.tmp, "skip-juror0");
    const j0cfg = await verifierConfig(sys, accountOf(jurors[0]!), j0Dir, {
      rpcUrls: ["http://127.0.0.1:9", proxy.url],
      eip1193: undefined,
      audit: false,
      challenge: false,
      rpcTimeoutMs: 500,
    });
    let j0 = track(startVerifier(j0cfg));
    for (let i = 1; i < last; i++) {
      track(
        startVerifier(
          await verifierConfig(sys, accountOf(jurors[i]!), path.join(bed.tmp, `skip-juror${i}`), { audit: false, challenge: false }),
        ),
      );
    }

    if (last > 0) {
      // Crash juror 0 right after its commitment is mined (reveal cannot open: the last juror is not up yet).
      await waitFor(
        "juror 0 committed",
        async () => BigInt((await sys.disputeManager.getVote(disputeId, 0, jurors[0]!)).commitment) !== 0n,
      );
      await stop(j0);
      const stored = readRecords(j0Dir, (r) => r.vote(disputeId, 0));
      expect(stored?.vote).to.equal(Ruling.WorkerFault);
      expect((await sys.disputeManager.getVote(disputeId, 0, jurors[0]!)).vote).to.equal(Ruling.None);
      track(
        startVerifier(
          await verifierConfig(sys, accountOf(jurors[last]!), path.join(bed.tmp, `skip-juror${last}`), { audit: false, challenge: false }),
        ),
      );
      j0 = track(startVerifier(j0cfg)); // restart on the same data dir: reveals the stored vote
    }
    // (One juror holding all three seats: its commitment opens the reveal at once, so there is no
    // window in which a crash leaves it committed but unrevealed; it simply votes.)
    await waitFor(
      "ruling",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.RulingGiven(disputeId))).length > 0,
    );

    const reveals = await sys.disputeManager.queryFilter(sys.disputeManager.filters.VoteRevealed(disputeId));
    expect(reveals.map((e) => e.args.juror).sort()).to.deep.equal([...jurors].sort());
    for (const e of reveals) expect(e.args.vote).to.equal(Ruling.WorkerFault);
    const commits = await sys.disputeManager.queryFilter(sys.disputeManager.filters.VoteCommitted(disputeId));
    expect(commits).to.have.length(jurors.length); // nobody committed twice, across the crash
    expect(proxy.requests.some((r) => r.fault !== undefined)).to.equal(true);

    // Appeal window over: a daemon finalizes the ruling; the worker is slashed, the job rejected.
    const d = await sys.disputeManager.getDispute(disputeId);
    await time.increaseTo(d.appealEnd + 1n);
    const conv = await waitFor(
      "conviction",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.WorkerConvicted(jobId)))[0],
    );
    expect(conv.args.beneficiary).to.equal(sys.challenger.address);
    expect(conv.args.slashed).to.be.greaterThan(0n);
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
    // The challenger withdraws its bounty.
    await waitFor(
      "bounty withdrawn",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.Withdrawn(sys.challenger.address))).length > 0,
    );
  });

  it("against honest workers: audits every job, opens nothing, finalizes after the window; serves /metrics and /healthz", async function () {
    const sys = await loadFixture(deploySystem);
    const n = Number(process.env.VERIFIER_TEST_JOBS ?? 2);
    const ids: bigint[] = [];
    for (let i = 0; i < n; i++) ids.push((await bed.requester.post(sys, { seed: ethers.id(`honest-${i}`) })).jobId);
    track(await startWorker(sys, path.join(bed.tmp, "honest-worker")));
    const dir = path.join(bed.tmp, "honest-verifier");
    let metricsUrl = "";
    track(
      startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, dir, { metricsPort: 0, concurrency: 1, maxQueued: 1 }), {
        onMetricsServer: (u) => (metricsUrl = u),
      }),
    );
    miner.start();
    for (const id of ids) {
      await waitFor(
        `audit of job ${id}`,
        async () => {
          if (Number((await sys.jobMarket.getJob(id)).status) !== JobStatus.Submitted) return false;
          // Records are read through a second connection; WAL makes that safe while the daemon runs.
          return readRecords(dir, (r) => r.audit(id)?.kind === "passed");
        },
        240_000,
      );
    }
    // The daemon drew the auditors (permissionless); its own sample is the one AuditManager derives.
    await waitFor("auditors drawn", async () => (await sys.auditManager.getAudit(ids[0]!)).drawn);
    const onChain = (await sys.auditManager.sampleOf(ids[0]!, sys.challenger.address)).map(Number);
    const record = readRecords(dir, (r) => r.audit(ids[0]!));
    expect(record?.sample).to.deep.equal(onChain);
    expect(
      await sys.disputeManager.queryFilter(sys.disputeManager.filters.ChallengeCommitted(undefined, sys.challenger.address)),
    ).to.have.length(0);
    expect(await sys.disputeManager.queryFilter(sys.disputeManager.filters.DisputeOpened())).to.have.length(0);

    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(metrics).to.match(/upow_audits_run_total\{[^}]*result="passed"[^}]*\} [1-9]/);
    const health = await fetch(`${metricsUrl}/healthz`);
    expect(health.status).to.equal(200);

    const last = await sys.jobMarket.getJob(ids[ids.length - 1]!);
    await time.increaseTo(last.windowEnd + 1n);
    for (const id of ids)
      await waitFor(`finalized ${id}`, async () => Number((await sys.jobMarket.getJob(id)).status) === JobStatus.Finalized);
  });

  it("refuses a job above its cost cap (V8.1): audit recorded skipped with JobAboveCapsError, nothing run, no attestation", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId, job } = await bed.requester.post(sys, { seed: ethers.id("over-cap") });
    track(await startWorker(sys, path.join(bed.tmp, "cap-worker")));
    const dir = path.join(bed.tmp, "cap-verifier");
    track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, dir, { maxFlopsPerStep: job.flopsPerStep - 1n })));
    miner.start();
    const audit = await waitFor(`refusal of job ${jobId}`, async () => readRecords(dir, (r) => r.audit(jobId)), 240_000);
    expect(audit.kind).to.equal("skipped");
    expect(audit.sample).to.deep.equal([]);
    expect((audit as { reason: string }).reason).to.match(
      /^JobAboveCapsError: job refused: the step needs \d+ FLOPs, above this node's cap/,
    );
    expect(await sys.auditManager.queryFilter(sys.auditManager.filters.Attested(jobId, sys.challenger.address))).to.have.length(0);
  });

  it("against withhold: chunk challenge, timeout, worker convicted; a crash before a receipt sends nothing twice", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys);
    track(await startWorker(sys, path.join(bed.tmp, "withhold-worker"), { cheat: { kind: "withhold" } }));
    await waitFor("submitted", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted);

    // First run: receipts never come back (the proxy hangs them); abort after the first broadcast.
    const proxy = await startRpcProxy({ upstream: network.provider as unknown as Eip1193Provider });
    proxies.push(proxy);
    proxy.addFault({ fault: { kind: "hang" }, methods: ["eth_getTransactionReceipt"] });
    const dir = path.join(bed.tmp, "withhold-challenger");
    const cfg = await verifierConfig(sys, CHALLENGER_ACCOUNT, dir, { rpcUrls: [proxy.url], eip1193: undefined, rpcTimeoutMs: 300 });
    const first = track(startVerifier(cfg));
    miner.start();
    await waitFor("a transaction broadcast", async () => proxy.count("eth_sendRawTransaction") > 0, 120_000);
    await stop(first);
    const sentBefore = proxy.count("eth_sendRawTransaction");
    proxy.clearFaults();
    track(startVerifier(cfg));

    // The step leaf is stored first (proveStepLeaves), then its chunk challenged, in the DataAvailability.
    const da = sys.dataAvailability;
    const challenged = await waitFor(
      "chunk challenge",
      async () =>
        (await da.queryFilter(da.filters.ChallengeOpened(undefined, jobId))).find(
          (e) => e.args.opener === sys.challenger.address && Number(e.args.kind) === ChallengeKind.StateChunk,
        ),
      120_000,
    );
    expect(await da.queryFilter(da.filters.StepLeavesProven(jobId))).to.have.length(1);
    const c = await da.getChallenge(challenged.args.challengeId);
    await time.increaseTo(c.deadline + 1n);
    const expired = await waitFor(
      "chunk timeout",
      async () => (await da.queryFilter(da.filters.ChallengeTimedOut(challenged.args.challengeId)))[0],
    );
    expect(expired.args.convicted).to.equal(true);
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);

    // Across the crash, every on-chain action of the challenger happened exactly once.
    expect(sentBefore).to.be.greaterThan(0);
    expect(
      await sys.disputeManager.queryFilter(sys.disputeManager.filters.ChallengeCommitted(undefined, sys.challenger.address)),
    ).to.have.length(1);
    expect(await sys.disputeManager.queryFilter(sys.disputeManager.filters.DisputeOpened(undefined, jobId))).to.have.length(1);
    const journalKeys = readRecords(dir, (_r, j) => j.listIntents({}).map((i) => `${i.key}:${i.state}`));
    expect(journalKeys).to.include(`challenge-commit:${jobId}:0:mined`);
  });
});
