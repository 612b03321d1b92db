/**
 * The worker daemon end to end on the in-process Hardhat network: real contracts (deploySystem),
 * real onnxruntime training of a tiny MNIST MLP, real artifact stores over HTTP.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import pino from "pino";
import type { Eip1193Provider } from "../../../verifier/chain/rpc";
import { train } from "../../../verifier/engine/trainer";
import { StepRunner } from "../../../verifier/engine/runner";
import { readSafetensors } from "../../../verifier/engine/safetensors";
import { batchOrder, loadBatch } from "../../../verifier/engine/data";
import { chunkProof, verifyChunkProof } from "../../../verifier/engine/statehash";
import { LocalStore, startStoreServer, type StoreServerHandle } from "../../../verifier/store";
import { createJob, prepareMnistJob, type PreparedJob } from "../../../verifier/requester/createJob";
import { JobSpecInvalidError } from "../../../verifier/requester/errors";
import { parseResultIndex, stepProof } from "../../../verifier/protocol/resultIndex";
import { workerConfig, type WorkerConfig } from "../../../verifier/worker/config";
import { applyCheat } from "../../../verifier/worker/cheats";
import { withCheat } from "../../../verifier/worker/adversary";
import { runWorker, type RunWorkerOptions } from "../../../verifier/worker/service";
import { WorkerState, type JobRecord } from "../../../verifier/worker/workerState";
import { Journal } from "../../../verifier/chain/journal";
import { deploySystem, challengeCommitment, E18, openDisputeOnIndex, type System } from "../../helpers/system";
import { ChallengeStatus, JobStatus } from "../../../verifier/protocol/enums";

const KEY_ENV = "UPOW_TEST_WORKER_KEY";
const SEED = ethers.id("worker-test-seed");

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Running {
  readonly ac: AbortController;
  readonly done: Promise<void>;
}

describe("worker daemon (in-process Hardhat network)", function () {
  this.timeout(180_000);
  let tmp: string;
  let reqStore: LocalStore;
  let reqServer: StoreServerHandle;
  const logger = pino({ level: process.env.WORKER_TEST_LOG ?? "silent" });

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-worker-"));
    reqStore = await LocalStore.open(path.join(tmp, "requester-store"));
    reqServer = await startStoreServer({ store: reqStore });
    // Hardhat's default account #2 is the fixture's worker.
    process.env[KEY_ENV] = ethers.HDNodeWallet.fromPhrase(
      "test test test test test test test test test test test junk",
      undefined,
      "m/44'/60'/0'/0/2",
    ).privateKey;
  });

  after(async function () {
    await reqServer.close();
    delete process.env[KEY_ENV];
    await rm(tmp, { recursive: true, force: true });
  });

  async function system(): Promise<System> {
    return loadFixture(deploySystem);
  }

  async function prepare(opts: { T?: number; k?: number; flopsPerStep?: bigint } = {}): Promise<PreparedJob> {
    return prepareMnistJob({
      store: reqStore,
      publicBaseUrl: reqServer.url,
      totalSteps: opts.T ?? 8,
      checkpointInterval: opts.k ?? 4,
      batchSize: 16,
      numBatches: 4,
      seed: SEED,
      ...(opts.flopsPerStep !== undefined ? { flopsPerStep: opts.flopsPerStep } : {}),
    });
  }

  /** `validate: false` posts a spec the requester's own check would refuse (the worker's refusals). */
  async function postJob(sys: System, job: PreparedJob, opts: { validate?: boolean } = {}): Promise<bigint> {
    const { jobId } = await createJob({
      ...opts,
      jobMarket: sys.jobMarket.connect(sys.requester),
      job,
      paymentToken: sys.payToken.connect(sys.requester),
      reward: 100n * E18,
      verificationFee: 10n * E18,
      claimDeadline: BigInt(await time.latest()) + 86_400n,
      trainingDuration: 3_600n,
    });
    return jobId;
  }

  async function config(sys: System, dataDir: string, over: Partial<WorkerConfig> = {}): Promise<WorkerConfig> {
    return workerConfig({
      eip1193: network.provider as unknown as Eip1193Provider,
      env: { UPOW_PRIVATE_KEY: process.env[KEY_ENV] },
      dataDir,
      jobMarket: await sys.jobMarket.getAddress(),
      stakeManager: await sys.stakeManager.getAddress(),
      disputeManager: await sys.disputeManager.getAddress(),
      acceptedTokens: [{ address: await sys.payToken.getAddress(), minRewardPerTflop: 0n }],
      confirmations: 0,
      pollIntervalMs: 50,
      startBlock: await ethers.provider.getBlockNumber(),
      logLevel: "silent",
      allowPrivateArtifacts: true, // the requester's store listens on 127.0.0.1
      ...over,
    });
  }

  function start(cfg: WorkerConfig, extra: Partial<RunWorkerOptions> = {}): Running {
    const ac = new AbortController();
    const done = runWorker(cfg, { signal: ac.signal, logger, ...extra });
    return { ac, done };
  }

  async function stop(w: Running): Promise<void> {
    w.ac.abort();
    await w.done;
  }

  /** A logger whose lines the test reads (JSON objects, in order). */
  function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
    const lines: Record<string, unknown>[] = [];
    return { lines, logger: pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }) };
  }

  function jobRecord(dataDir: string, jobId: bigint): JobRecord | undefined {
    const j = Journal.open(path.join(dataDir, "journal.sqlite"));
    try {
      return new WorkerState(j.kv).job(jobId);
    } finally {
      j.close();
    }
  }

  /** The worker's record of `jobId` once it has decided (left "candidate"). */
  function decided(dataDir: string, jobId: bigint): Promise<JobRecord> {
    return waitFor("decision", async () => {
      const r = jobRecord(dataDir, jobId);
      return r && r.phase !== "candidate" ? r : undefined;
    });
  }

  async function submittedRoots(sys: System, jobId: bigint): Promise<string[]> {
    const evs = await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(jobId));
    return evs.map((e) => e.args.checkpointRoot);
  }

  /** One sample of a counter in Prometheus text (label-agnostic: the role label is always there). */
  function sample(text: string, name: string): number {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) : NaN;
  }

  it("takes an honest MNIST job from Open to paid, counting it all in /metrics (and /healthz)", async function () {
    const sys = await system();
    const job = await prepare();
    const jobId = await postJob(sys, job);
    const dataDir = path.join(tmp, "honest");
    let metricsUrl = "";
    const logs = capture();
    const w = start(await config(sys, dataDir, { metricsPort: 0 }), { onMetricsServer: (u) => (metricsUrl = u), logger: logs.logger });
    try {
      const before = await sys.payToken.balanceOf(sys.worker.address);
      await waitFor("submission", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted);
      const j = await sys.jobMarket.getJob(jobId);
      expect(j.worker).to.equal(sys.worker.address);
      // The result index is served and matches the chain.
      const [ev] = await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(jobId));
      const body = Buffer.from(await (await fetch(ev!.args.resultURI)).arrayBuffer());
      const index = parseResultIndex(body, {
        expect: { jobId, checkpointRoot: j.checkpointRoot, initialStateHash: job.initialStateHash, finalStateHash: j.finalStateHash },
      });
      expect(index.T).to.equal(8);
      await time.increaseTo(j.windowEnd + 1n);
      await mine(1);
      await waitFor("payment", async () => (await sys.payToken.balanceOf(sys.worker.address)) - before === 100n * E18);
      expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Finalized);
      expect(await sys.jobMarket.credits(await sys.payToken.getAddress(), sys.worker.address)).to.equal(0n);
      // Amounts are logged with units, the exact base units beside them.
      const line = (msg: string): Record<string, unknown> | undefined => logs.lines.find((l) => l.msg === msg);
      expect(line("job accepted")).to.include({ reward: "100 PAY", rewardRaw: (100n * E18).toString() });
      expect(line("job finalized")).to.include({ reward: "100 PAY", rewardRaw: (100n * E18).toString() });
      await waitFor("withdrawal logged", async () => line("credit withdrawn") !== undefined);
      expect(line("credit withdrawn")).to.include({ amount: "100 PAY", amountRaw: (100n * E18).toString() });

      const text = await (await fetch(`${metricsUrl}/metrics`)).text();
      expect(sample(text, "upow_steps_trained_total")).to.equal(8);
      expect(sample(text, "upow_jobs_claimed_total")).to.equal(1);
      expect(sample(text, "upow_jobs_submitted_total")).to.equal(1);
      expect(sample(text, "upow_jobs_finalized_total")).to.equal(1);
      expect(sample(text, "upow_disputes_answered_total")).to.equal(0);
      expect(text).to.match(/upow_txs_sent_total\{[^}]*purpose="submit"[^}]*\} 1/);
      expect(text).to.include("upow_tx_failures_total");
      const health = await fetch(`${metricsUrl}/healthz`);
      expect(health.status).to.equal(200);
      expect(((await health.json()) as { ok: boolean }).ok).to.equal(true);
    } finally {
      await stop(w);
    }
  });

  it("resumes after being aborted mid-training, with the uninterrupted checkpoint root, submitting once", async function () {
    const sys = await system();
    const job = await prepare({ T: 16, k: 4 });
    const jobId = await postJob(sys, job);
    const dataDir = path.join(tmp, "crash");
    const cfg = await config(sys, dataDir);
    let aborted = false;
    const ac = new AbortController();
    const first = runWorker(cfg, {
      signal: ac.signal,
      logger,
      onTrainingProgress: (p) => {
        if (p.step === 6 && !aborted) {
          aborted = true;
          ac.abort();
        }
      },
    });
    await first;
    expect(aborted).to.equal(true);
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Claimed);

    // Reference: the same job trained without interruption.
    const runner = await StepRunner.create({ graph: job.graph });
    const ref = await train({
      runner,
      initialState: readSafetensors(await reqStore.get(job.manifest.initialState.uri.split("/").pop()!)),
      batches: (t) => loadBatch(job.batches[batchOrder(SEED, 4, t)]!).tensors,
      hp: job.manifest.hyperparameters,
      T: 16,
      k: 4,
      dir: path.join(tmp, "crash-reference"),
      keepStepStates: false,
    });
    await runner.dispose();

    let resumedSteps: number[] = [];
    const w = start(cfg, { onTrainingProgress: (p) => resumedSteps.push(p.step) });
    try {
      await waitFor("submission", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted);
      expect(resumedSteps[0]).to.equal(5); // resumed from checkpoint 1 (step 4), not from scratch
      expect((await sys.jobMarket.getJob(jobId)).checkpointRoot).to.equal(ref.checkpointRoot);
    } finally {
      await stop(w);
    }
    // A third start finds the job submitted and sends nothing more. /healthz turns 200 once a whole
    // tick has run (a fixed 500 ms sleep let a loaded CPU stop it before it had looked at anything).
    resumedSteps = [];
    await mine(2);
    let healthUrl = "";
    const again = start(
      { ...cfg, metricsPort: 0 },
      { onTrainingProgress: (p) => resumedSteps.push(p.step), onMetricsServer: (u) => (healthUrl = `${u}/healthz`) },
    );
    try {
      await waitFor("a full tick of the restarted worker", async () => healthUrl !== "" && (await fetch(healthUrl)).status === 200);
    } finally {
      await stop(again);
    }
    expect(await submittedRoots(sys, jobId)).to.deep.equal([ref.checkpointRoot]);
    expect(resumedSteps).to.deep.equal([]);
  });

  it("--cheat drift=0.9 commits the trajectory the numeric cheat makes with the job's key and the manifest's bounds", async function () {
    const sys = await system();
    const job = await prepare();
    const jobId = await postJob(sys, job);
    const w = start(await config(sys, path.join(tmp, "drift")), { behaviour: withCheat({ kind: "drift", multiple: 0.9 }) });
    try {
      await waitFor("submission", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted);
    } finally {
      await stop(w);
    }
    const runner = await StepRunner.create({ graph: job.graph });
    const reference = async (cheat: boolean, dir: string): Promise<string> => {
      const honest = { runner, batches: (t: number) => loadBatch(job.batches[batchOrder(SEED, 4, t)]!).tensors };
      const c = cheat
        ? applyCheat({ kind: "drift", multiple: 0.9 }, honest, {
            key: `${jobId}:${job.specHash}`,
            T: 8,
            k: 4,
            bounds: job.manifest.tolerance,
          })
        : honest;
      const r = await train({
        runner: c.runner,
        initialState: readSafetensors(await reqStore.get(job.manifest.initialState.uri.split("/").pop()!)),
        batches: c.batches,
        hp: job.manifest.hyperparameters,
        T: 8,
        k: 4,
        dir: path.join(tmp, dir),
        keepStepStates: false,
      });
      return r.checkpointRoot;
    };
    try {
      const root = (await sys.jobMarket.getJob(jobId)).checkpointRoot;
      expect(root).to.equal(await reference(true, "drift-reference"));
      expect(root).to.not.equal(await reference(false, "drift-honest"));
    } finally {
      await runner.dispose();
    }
  });

  it("answers a chunk challenge on chain in a dispute against its honest result", async function () {
    const sys = await system();
    const job = await prepare();
    const jobId = await postJob(sys, job);
    const dataDir = path.join(tmp, "dispute");
    let metricsUrl = "";
    const w = start(await config(sys, dataDir, { publishSteps: "on-dispute", metricsPort: 0 }), {
      onMetricsServer: (u) => (metricsUrl = u),
    });
    try {
      await waitFor("submission", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted);
      const [ev] = await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(jobId));
      const index = parseResultIndex(Buffer.from(await (await fetch(ev!.args.resultURI)).arrayBuffer()));
      // With publishSteps=on-dispute, an inner step state is not served before the dispute.
      const inner = index.intervals[1]!.steps[2]!;
      expect((await fetch(`${index.artifactBaseUrls[0]}/artifacts/${inner.sha256}`)).status).to.equal(404);
      // Lose the kept file: the worker must regenerate it by replay from checkpoint 1.
      await rm(path.join(dataDir, "jobs", jobId.toString(), "checkpoints", "objects", `${inner.sha256}.safetensors`));

      const disputeId = await openDisputeOnIndex(sys, index, jobId, 1, ethers.id("challenger-salt") as `0x${string}`);
      expect(disputeId).to.not.equal(0n);
      // The worker serves the interval's k+1 states.
      await waitFor(
        "interval states served",
        async () => (await fetch(`${index.artifactBaseUrls[0]}/artifacts/${inner.sha256}`)).status === 200,
      );

      // Chunk challenges live in the DataAvailability: store the step leaf (its range proof is its
      // ordinary proof), then challenge chunk 1 of that state.
      const da = sys.dataAvailability.connect(sys.challenger);
      const sp = stepProof(index, 1, 2);
      await da.proveStepLeaves(jobId, 1, 2, [sp.stateHash], sp.proof);
      const tx = await da.challengeStateChunk(jobId, disputeId, 1, 2, 1);
      const rc = await tx.wait();
      const parsed = rc!.logs.map((l) => sys.dataAvailability.interface.parseLog(l)).find((x) => x?.name === "ChallengeOpened")!;
      const challengeId = parsed.args[0] as bigint;
      await waitFor(
        "chunk answered",
        async () => Number((await sys.dataAvailability.getChallenge(challengeId)).status) === ChallengeStatus.Answered,
      );
      const answered = await sys.dataAvailability.queryFilter(sys.dataAvailability.filters.ChallengeAnswered(challengeId));
      expect(answered).to.have.length(1);
      expect(answered[0]!.args.sender).to.equal(sys.worker.address);
      // The served bytes prove against the committed state hash.
      const bytes = Buffer.from(await (await fetch(`${index.artifactBaseUrls[0]}/artifacts/${inner.sha256}`)).arrayBuffer());
      expect(verifyChunkProof(inner.stateHash, chunkProof(bytes, 1))).to.equal(true);
      // The counters move after the store write and the mined answer the waits above observe: wait
      // for them too (read at once, a loaded CPU saw 0), then check that each counted exactly once.
      const text = await waitFor("answers counted in /metrics", async () => {
        const t = await (await fetch(`${metricsUrl}/metrics`)).text();
        return sample(t, "upow_disputes_answered_total") >= 1 && sample(t, "upow_chunk_answers_total") >= 1 ? t : undefined;
      });
      expect(sample(text, "upow_disputes_answered_total")).to.equal(1);
      expect(sample(text, "upow_chunk_answers_total")).to.equal(1);
    } finally {
      await stop(w);
    }
  });

  it("answers the DataAvailability's checkpoint and step-leaf demands for its job", async function () {
    const sys = await system();
    const job = await prepare();
    const jobId = await postJob(sys, job);
    const w = start(await config(sys, path.join(tmp, "demands")));
    try {
      await waitFor("submission", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted);
      const [ev] = await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(jobId));
      const index = parseResultIndex(Buffer.from(await (await fetch(ev!.args.resultURI)).arrayBuffer()));
      const salt = ethers.id("demand-salt");
      const dm = sys.disputeManager.connect(sys.challenger);
      await dm.commitChallenge(challengeCommitment(jobId, 1, sys.challenger.address, salt as `0x${string}`));
      await mine(1);
      // Empty proofs: the DisputeManager opens a Checkpoints demand the worker must answer.
      const none = { stateHash: ethers.ZeroHash, stepRoot: ethers.ZeroHash, proof: [] };
      await dm.openDispute(jobId, 1, salt, none, none, 0n);
      const disputeId = await sys.disputeManager.disputeOf(jobId, 1, sys.challenger.address);
      const demand = (await sys.disputeManager.getDispute(disputeId)).checkpointDemand;
      expect(demand).to.not.equal(0n);
      await waitFor(
        "checkpoints answered",
        async () => Number((await sys.dataAvailability.getChallenge(demand)).status) === ChallengeStatus.Answered,
      );
      const c1 = await sys.dataAvailability.checkpointLeaf(jobId, 1);
      expect(c1.known).to.equal(true);
      expect(c1.stepRoot).to.equal(index.checkpoints[1]!.stepRoot);
      expect((await sys.dataAvailability.checkpointLeaf(jobId, 2)).stateHash).to.equal(index.checkpoints[2]!.stateHash);

      // All k+1 step leaves of the interval: answered with a range proof the contract accepts.
      const rc = await (await sys.dataAvailability.connect(sys.challenger).demandStepLeaves(jobId, disputeId, 1, 0, index.k + 1)).wait();
      const opened = rc!.logs.map((l) => sys.dataAvailability.interface.parseLog(l)).find((x) => x?.name === "ChallengeOpened")!;
      const leavesDemand = opened.args[0] as bigint;
      await waitFor(
        "step leaves answered",
        async () => Number((await sys.dataAvailability.getChallenge(leavesDemand)).status) === ChallengeStatus.Answered,
      );
      for (let j = 0; j <= index.k; j++) {
        const leaf = await sys.dataAvailability.stepLeaf(jobId, index.k + j);
        expect(leaf.known).to.equal(true);
        expect(leaf.stateHash).to.equal(index.intervals[1]!.steps[j]!.stateHash);
      }
    } finally {
      await stop(w);
    }
  });

  it("--dry-run decides but sends nothing", async function () {
    const sys = await system();
    const jobId = await postJob(sys, await prepare());
    const dataDir = path.join(tmp, "dry");
    const nonce = await ethers.provider.getTransactionCount(sys.worker.address);
    const w = start(await config(sys, dataDir, { dryRun: true }));
    try {
      await waitFor("decision", async () => jobRecord(dataDir, jobId)?.phase === "dry-run");
    } finally {
      await stop(w);
    }
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Open);
    expect(await ethers.provider.getTransactionCount(sys.worker.address)).to.equal(nonce);
  });

  it("declines as not served, without crashing, a job whose artifact URLs are private when private artifacts are not allowed (V8.4)", async function () {
    const sys = await system();
    const jobId = await postJob(sys, await prepare());
    const dataDir = path.join(tmp, "private-urls");
    const w = start(await config(sys, dataDir, { allowPrivateArtifacts: false }));
    let rec: JobRecord;
    try {
      rec = await decided(dataDir, jobId);
    } finally {
      await stop(w); // resolves: the refusal did not end the worker
    }
    expect(rec.phase).to.equal("declined");
    expect(rec.reason).to.equal("artifact-unavailable");
    expect(rec.message).to.match(/Artifact URL refused \(address\): loopback address 127\.0\.0\.1/);
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Open);
  });

  it("declines a job whose tolerance is below the governance floors (a bound that convicts honest cross-implementation noise)", async function () {
    const sys = await system();
    const tight = await prepareMnistJob({
      store: reqStore,
      publicBaseUrl: reqServer.url,
      totalSteps: 8,
      checkpointInterval: 4,
      batchSize: 16,
      numBatches: 4,
      seed: SEED,
      tolerance: { deltaUpd: 1e-5, deltaUlp: 1e-6, deltaKUpd: 6e-3, deltaKUlp: 2e-6 },
    });
    const refused = await postJob(sys, tight).catch((e: unknown) => e);
    expect(refused, "the requester's own check refuses it first").to.be.instanceOf(JobSpecInvalidError);
    expect((refused as JobSpecInvalidError).message).to.match(/tolerance\.deltaUpd.*below the governance floor 0\.003.*workers decline it/);
    const jobId = await postJob(sys, tight, { validate: false });
    const dataDir = path.join(tmp, "below-floors");
    const w = start(await config(sys, dataDir));
    let rec: JobRecord;
    try {
      rec = await decided(dataDir, jobId);
    } finally {
      await stop(w);
    }
    expect(rec.phase).to.equal("declined");
    expect(rec.reason).to.equal("manifest-invalid");
    expect(rec.message).to.match(/tolerance\.deltaUpd.*below the governance floor 0\.003/);
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Open);
  });

  it("refuses a manifest that understates FLOPs per step (shape inference), and an unaccepted token", async function () {
    const sys = await system();
    const understated = await postJob(sys, await prepare({ flopsPerStep: 1000n }), { validate: false });
    const dataDir = path.join(tmp, "refuse");
    const logs = capture();
    const w = start(await config(sys, dataDir), { logger: logs.logger });
    try {
      const rec = await decided(dataDir, understated);
      expect(rec.phase).to.equal("declined");
      expect(rec.reason).to.equal("flops-understated");
      // An off-chain refusal is "declined", never "rejected" (the on-chain JobStatus of a convicted job).
      expect(logs.lines.find((l) => l.msg === "job declined")).to.include({ reason: "flops-understated" });
      expect(logs.lines.filter((l) => /rejected/i.test(String(l.msg)))).to.deep.equal([]);
    } finally {
      await stop(w);
    }
    expect((await sys.jobMarket.getJob(understated)).status).to.equal(JobStatus.Open);

    const other = path.join(tmp, "refuse-token");
    const w2 = start(
      await config(sys, other, { startBlock: 0, acceptedTokens: [{ address: await sys.stakeToken.getAddress(), minRewardPerTflop: 0n }] }),
    );
    try {
      const rec = await decided(other, understated);
      expect(rec.reason).to.equal("token-not-accepted");
    } finally {
      await stop(w2);
    }
  });
});
