/**
 * The worker's player: moves every job record one step on per tick (claim, train, publish, submit,
 * answer availability challenges, finalize, withdraw) from what the decider and the chain say;
 * transactions go out as typed actions through the runtime's responder (actions.ts).
 */
import path from "node:path";
import { mkdir } from "node:fs/promises";
import type { Logger } from "pino";
import type { Provider } from "ethers";
import { StakeManager__factory } from "../../typechain-types";
import type { DataAvailability, DisputeManager, JobMarket } from "../../typechain-types";
import { collectErrorText } from "../chain/rpc";
import { TxSimulationError, TxRevertedError, TxSkippedError, type SendResult } from "../chain/tx-sender";
import { UPowError } from "../errors";
import { TokenInfoCache } from "../chain/tokenInfo";
import { ChallengeStatus, JobStatus, challengeStatusName } from "../protocol/enums";
import { LocalStore, mirrorToRemote, type RemoteArtifactStore } from "../store";
import { Responder } from "../runtime/responder";
import { checkpointProof, parseResultIndex, resultUri, stepRangeProof, type ResultIndex } from "../protocol/resultIndex";
import type { WorkerConfig } from "./config";
import { decide, type ChainJobView } from "./decider";
import type { WorkerMetrics } from "./metrics";
import { prepareJob, PrepareJobError, type PreparedJob } from "./prepare";
import { answerCheckpoints, answerChunk, answerStepLeaves, claimJob, finalizeJob, submitResult, withdrawCredit } from "./actions";
import { locateFile, provenChunk, serveInterval } from "./states";
import { trainJob } from "./trainer";
import type { WorkerBehaviour } from "./behaviour";
import { mirrorResult } from "./remoteMirror";
import { WorkerState, type JobRecord } from "./workerState";

/** Called after every training step (tests abort mid-training with it). */
export type TrainingProgressListener = (p: { jobId: string; step: number; checkpoint?: number }) => void;

class WorkerError extends UPowError {
  override readonly name = "WorkerError";
}

export interface PlayerParameters {
  readonly config: WorkerConfig;
  readonly provider: Provider;
  readonly jobMarket: JobMarket;
  readonly disputeManager: DisputeManager | null;
  readonly dataAvailability: DataAvailability | null;
  readonly stakeManager: string | null;
  readonly address: string;
  readonly state: WorkerState;
  readonly store: LocalStore;
  readonly publicBaseUrl: string;
  /** Mirror of everything published (S3); its base URL is the resultURI's and the index's second. */
  readonly remote: RemoteArtifactStore | null;
  readonly responder: Responder;
  readonly behaviour: WorkerBehaviour;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly onTrainingProgress?: TrainingProgressListener;
}

/** Moves every job record one step on per tick; training runs in the background, one job at a time. */
export class JobPlayer {
  private training: { jobId: string; promise: Promise<void> } | null = null;
  private readonly prepared = new Map<string, PreparedJob>();
  private readonly indexes = new Map<string, ResultIndex>();
  /** Symbol and decimals per token, so logged amounts carry their units. */
  private readonly tokens: TokenInfoCache;

  constructor(private readonly p: PlayerParameters) {
    this.tokens = new TokenInfoCache(p.provider);
  }

  async tick(): Promise<void> {
    for (const rec of this.p.state.jobs()) {
      if (this.p.signal.aborted) return;
      try {
        await this.advance(rec);
      } catch (err) {
        // A transaction held back by the sender's failure policy was logged there already.
        if (err instanceof TxSkippedError)
          this.p.logger.debug({ reason: err.shortMessage, jobId: rec.jobId, phase: rec.phase }, "job step waits: transaction not sent");
        else
          this.p.logger.error(
            { err, reason: collectErrorText(err), jobId: rec.jobId, phase: rec.phase },
            "job step failed; retrying next tick",
          );
      }
    }
    try {
      await this.disputes();
    } catch (err) {
      if (err instanceof TxSkippedError) this.p.logger.debug({ reason: err.shortMessage }, "dispute handling waits: transaction not sent");
      else this.p.logger.error({ err, reason: collectErrorText(err) }, "dispute handling failed; retrying next tick");
    }
  }

  async stop(): Promise<void> {
    await this.training?.promise.catch(() => undefined);
  }

  /** Where readers find this worker's artifacts: its own store first, then the remote mirror. */
  private artifactBaseUrls(): string[] {
    return [this.p.publicBaseUrl, ...(this.p.remote ? [this.p.remote.publicBaseUrl] : [])];
  }

  private jobDir(jobId: string): string {
    return path.join(this.p.config.dataDir, "jobs", jobId);
  }

  private async chainJob(
    jobId: bigint,
  ): Promise<ChainJobView & { worker: string; submitDeadline: bigint; windowEnd: bigint; openDisputes: bigint }> {
    const j = await this.p.jobMarket.getJob(jobId);
    return {
      jobId,
      status: Number(j.status),
      paymentToken: j.paymentToken,
      reward: j.reward,
      collateral: j.collateral,
      totalSteps: j.totalSteps,
      checkpointInterval: j.checkpointInterval,
      numBatches: j.numBatches,
      flopsPerStep: j.flopsPerStep,
      stateBytes: j.stateBytes,
      initialStateHash: j.initialStateHash,
      dataRoot: j.dataRoot,
      specHash: j.specHash,
      claimDeadline: j.claimDeadline,
      trainingDuration: j.trainingDuration,
      worker: j.worker,
      submitDeadline: j.submitDeadline,
      windowEnd: j.windowEnd,
      openDisputes: BigInt(j.openDisputes),
    };
  }

  private async now(): Promise<bigint> {
    const b = await this.p.provider.getBlock("latest");
    return BigInt(b?.timestamp ?? Math.floor(Date.now() / 1000));
  }

  private async freeStake(): Promise<bigint | undefined> {
    if (!this.p.stakeManager) return undefined;
    const sm = StakeManager__factory.connect(this.p.stakeManager, this.p.provider);
    return (await sm.account(this.p.address)).free;
  }

  private async getPrepared(rec: JobRecord, job: ChainJobView): Promise<PreparedJob> {
    const hit = this.prepared.get(rec.jobId);
    if (hit) return hit;
    const prep = await prepareJob({
      job,
      specURI: rec.specURI,
      store: this.p.store,
      maxArtifactBytes: this.p.config.maxArtifactBytes,
      logger: this.p.logger,
      urlPolicy: { allowPrivate: this.p.config.allowPrivateArtifacts },
    });
    this.prepared.set(rec.jobId, prep);
    return prep;
  }

  private async advance(rec: JobRecord): Promise<void> {
    const id = BigInt(rec.jobId);
    const log = this.p.logger.child({ jobId: rec.jobId });
    switch (rec.phase) {
      case "candidate":
        return this.consider(rec, id, log);
      case "accepted":
        return this.claim(rec, id, log);
      case "claimed":
        return this.trainAndSubmit(rec, id, log);
      case "submitted":
        return this.settle(rec, id, log);
      case "finalized":
        return this.withdraw(rec, id, log);
      default:
        return;
    }
  }

  private async consider(rec: JobRecord, id: bigint, log: Logger): Promise<void> {
    const job = await this.chainJob(id);
    const base = { job, config: this.p.config, now: await this.now(), freeStake: await this.freeStake() };
    let decision = decide({ ...base, prepared: null });
    if (decision.accept) {
      try {
        decision = decide({ ...base, prepared: (await this.getPrepared(rec, job)).view });
      } catch (err) {
        if (!(err instanceof PrepareJobError)) throw err;
        decision = decide({ ...base, prepared: { ok: false, reason: err.reason, message: err.message } });
      }
    }
    if (!decision.accept) {
      this.p.state.putJob({ ...rec, phase: "declined", reason: decision.reason, message: decision.message });
      // "declined", never "rejected": that word is the on-chain JobStatus of a convicted job.
      log.info({ reason: decision.reason, message: decision.message }, "job declined");
      return;
    }
    if (this.p.config.dryRun) {
      const r = await this.p.responder.send(claimJob(this.p.jobMarket, id)).catch((err: unknown) => err);
      this.p.state.putJob({ ...rec, phase: "dry-run", message: r instanceof Error ? r.message : "claim would succeed" });
      log.info({ simulation: r instanceof Error ? r.message : "ok" }, "dry run: would claim this job; nothing sent");
      return;
    }
    // The decision is durable before the claim is sent.
    const accepted = this.p.state.putJob({ ...rec, phase: "accepted", paymentToken: job.paymentToken });
    log.info({ ...(await this.tokens.fields("reward", job.paymentToken, job.reward)), T: job.totalSteps.toString() }, "job accepted");
    return this.claim(accepted, id, log);
  }

  private async claim(rec: JobRecord, id: bigint, log: Logger): Promise<void> {
    try {
      await this.p.responder.send(claimJob(this.p.jobMarket, id));
    } catch (err) {
      if (err instanceof TxSimulationError || err instanceof TxRevertedError) {
        this.p.state.putJob({ ...rec, phase: "lost", message: err.shortMessage });
        log.warn({ reason: err.shortMessage }, "claim failed; job lost");
        return;
      }
      throw err;
    }
    this.p.state.putJob({ ...rec, phase: "claimed" });
    this.p.metrics.jobsClaimed.inc();
    log.info("job claimed");
  }

  private async trainAndSubmit(rec: JobRecord, id: bigint, log: Logger): Promise<void> {
    if (this.training) return; // one job at a time: the others wait (Busy, not queued without limit)
    const job = await this.chainJob(id);
    if (job.status !== JobStatus.Claimed || job.worker.toLowerCase() !== this.p.address.toLowerCase()) {
      if (job.status === JobStatus.Submitted && job.worker.toLowerCase() === this.p.address.toLowerCase()) {
        // Submitted before a crash; the journal's submit intent was mined.
        this.p.state.putJob({ ...this.p.state.job(rec.jobId)!, phase: "submitted" });
        return;
      }
      this.p.state.putJob({ ...rec, phase: "lost", message: `job is in status ${job.status}` });
      return;
    }
    const promise = this.runTraining(rec, id, job, log).finally(() => {
      this.training = null;
    });
    this.training = { jobId: rec.jobId, promise };
    promise.catch((err: unknown) => {
      if (this.p.signal.aborted) log.info("training interrupted by shutdown; resumes from the last checkpoint");
      else log.error({ err }, "training failed; retrying next tick");
    });
  }

  private async runTraining(rec: JobRecord, id: bigint, job: Awaited<ReturnType<JobPlayer["chainJob"]>>, log: Logger): Promise<void> {
    const prepared = await this.getPrepared(rec, job);
    const dir = path.join(this.jobDir(rec.jobId), "checkpoints");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const trained = await trainJob({
      jobId: id,
      specHash: job.specHash,
      prepared,
      dir,
      store: this.p.store,
      artifactBaseUrls: this.artifactBaseUrls(),
      ep: this.p.config.ep,
      threads: this.p.config.threads,
      training: this.p.behaviour.training,
      publishSteps: this.p.config.publishSteps === "eager",
      logger: this.p.logger,
      signal: this.p.signal,
      onProgress: (step: number, checkpoint?: number) => {
        this.p.metrics.stepsTrained.inc();
        this.p.onTrainingProgress?.({ jobId: rec.jobId, step, ...(checkpoint !== undefined ? { checkpoint } : {}) });
      },
    });
    const address = await this.p.behaviour.publisher.publish({
      jobId: id,
      trained,
      dir,
      store: this.p.store,
      steps: this.p.config.publishSteps === "eager",
    });
    // Before the submission names the remote: a result URI must never point at nothing.
    if (this.p.remote)
      await mirrorResult({ index: trained.index, indexAddress: address, store: this.p.store, remote: this.p.remote, logger: log });
    this.indexes.set(rec.jobId, trained.index);
    const now = await this.now();
    if (now + BigInt(this.p.config.deadlineMarginSec) > job.submitDeadline) {
      this.p.state.putJob({ ...rec, phase: "abandoned", message: "training finished too close to the submission deadline" });
      log.error({ now: now.toString(), deadline: job.submitDeadline.toString() }, "too late to submit; job abandoned");
      return;
    }
    // Known before the submission is sent, so a crash right after it still finds the index.
    this.p.state.putJob({ ...rec, indexAddress: address });
    const r = trained.result;
    // The remote outlives this machine, so the on-chain URI names it when there is one.
    const resultURI = resultUri(this.p.remote?.publicBaseUrl ?? this.p.publicBaseUrl, address);
    const sent: SendResult = await this.p.responder.send(
      submitResult(this.p.jobMarket, id, {
        checkpointRoot: r.checkpointRoot,
        finalStateHash: r.finalStateHash,
        resultURI,
        stepRoot0: trained.index.checkpoints[0]!.stepRoot,
        proof0: r.proofFirst,
        proofLast: r.proofLast,
      }),
    );
    this.p.state.putJob({ ...rec, phase: "submitted", indexAddress: address });
    this.p.metrics.jobsSubmitted.inc();
    log.info(
      {
        checkpointRoot: r.checkpointRoot,
        resultURI,
        tx: sent.kind === "mined" ? sent.hash : null,
        reused: sent.kind === "mined" && sent.reused,
      },
      "result submitted",
    );
  }

  private async settle(rec: JobRecord, id: bigint, log: Logger): Promise<void> {
    const job = await this.chainJob(id);
    if (job.status === JobStatus.Finalized) {
      this.p.state.putJob({ ...rec, phase: "finalized", paymentToken: job.paymentToken });
      this.p.metrics.jobsFinalized.inc();
      return;
    }
    if (job.status === JobStatus.Rejected) {
      this.p.state.putJob({ ...rec, phase: "lost", message: "job rejected on chain (worker convicted)" });
      log.error("job rejected on chain");
      return;
    }
    const now = await this.now();
    if (job.status !== JobStatus.Submitted || now <= job.windowEnd || job.openDisputes > 0n) return;
    // finalize also waits for a possible reopening of a voided interval and for open availability challenges.
    if (this.p.disputeManager && now <= (await this.p.disputeManager.reopenHold(id))) return;
    if (this.p.dataAvailability && (await this.p.dataAvailability.openChallenges(id)) > 0n) return;
    await this.p.responder.send(finalizeJob(this.p.jobMarket, id));
    this.p.state.putJob({ ...rec, phase: "finalized", paymentToken: job.paymentToken });
    this.p.metrics.jobsFinalized.inc();
    log.info(await this.tokens.fields("reward", job.paymentToken, job.reward), "job finalized");
  }

  private async withdraw(rec: JobRecord, id: bigint, log: Logger): Promise<void> {
    const token = rec.paymentToken ?? (await this.p.jobMarket.getJob(id)).paymentToken;
    const credit = await this.p.jobMarket.credits(token, this.p.address);
    if (credit > 0n) await this.p.responder.send(withdrawCredit(this.p.jobMarket, id, token));
    this.p.state.putJob({ ...rec, phase: "withdrawn" });
    log.info({ token, ...(await this.tokens.fields("amount", token, credit)) }, "credit withdrawn");
  }

  private async loadIndex(jobId: string): Promise<ResultIndex | null> {
    const hit = this.indexes.get(jobId);
    if (hit) return hit;
    const rec = this.p.state.job(jobId);
    if (!rec?.indexAddress || !(await this.p.store.has(rec.indexAddress))) return null;
    const index = parseResultIndex(await this.p.store.get(rec.indexAddress));
    this.indexes.set(jobId, index);
    return index;
  }

  /** The committed bytes of S_step (V7.1): from the store, else the interval is served (copied or regenerated). */
  async stateBytes(jobId: string, step: number): Promise<Uint8Array> {
    const index = await this.loadIndex(jobId);
    if (!index) throw new WorkerError("no result index for this job", { details: { jobId } });
    const i = Math.min(Math.floor(step / index.k), index.intervals.length - 1);
    const s = index.intervals[i]?.steps[step - i * index.k];
    if (!s) throw new WorkerError("no such step in the result index", { details: { jobId, step } });
    if (!(await this.p.store.has(s.sha256))) {
      const rec = this.p.state.job(jobId)!;
      await serveInterval({
        index,
        interval: i,
        dir: path.join(this.jobDir(jobId), "checkpoints"),
        store: this.p.store,
        prepared: async () => this.getPrepared(rec, await this.chainJob(BigInt(jobId))),
        ep: this.p.config.ep,
        threads: this.p.config.threads,
        logger: this.p.logger.child({ jobId, interval: i }),
      });
    }
    return this.p.store.get(s.sha256);
  }

  private async disputes(): Promise<void> {
    const dm = this.p.disputeManager;
    if (!dm) return;
    const publisher = this.p.behaviour.publisher;
    for (const d of this.p.state.disputes()) {
      if (d.served || !publisher.answers({ jobId: d.jobId, kind: "step-leaves", interval: d.interval })) continue;
      const index = await this.loadIndex(d.jobId);
      if (!index) continue;
      const log = this.p.logger.child({ jobId: d.jobId, disputeId: d.disputeId, interval: d.interval });
      const rec = this.p.state.job(d.jobId)!;
      const served = await serveInterval({
        index,
        interval: d.interval,
        dir: path.join(this.jobDir(d.jobId), "checkpoints"),
        store: this.p.store,
        prepared: async () => this.getPrepared(rec, await this.chainJob(BigInt(d.jobId))),
        ep: this.p.config.ep,
        threads: this.p.config.threads,
        logger: log,
      });
      // States published for a dispute (on-dispute publishing) reach the mirror too, so jurors
      // can fetch them while this machine is down; not marked served until they are there.
      if (this.p.remote)
        await mirrorToRemote(
          this.p.store,
          this.p.remote,
          index.intervals[d.interval]!.steps.map((s) => s.sha256),
        );
      this.p.state.putDispute({ ...d, served: true });
      this.p.metrics.disputesAnswered.inc();
      log.info(served, "disputed interval's states served");
    }
    const da = this.p.dataAvailability;
    if (!da) return;
    for (const c of this.p.state.chunks()) {
      if (c.done) continue;
      const log = this.p.logger.child({ challengeId: c.challengeId, jobId: c.jobId, disputeId: c.disputeId, kind: c.kind });
      const rec = this.p.state.job(c.jobId);
      if (!rec || !["submitted", "finalized", "withdrawn"].includes(rec.phase)) {
        this.p.state.putChunk({ ...c, done: true, outcome: "not ours" });
        continue;
      }
      const onChain = await da.getChallenge(BigInt(c.challengeId));
      if (Number(onChain.status) !== ChallengeStatus.Open) {
        this.p.state.putChunk({ ...c, done: true, outcome: `status ${challengeStatusName(onChain.status)}` });
        continue;
      }
      if (!publisher.answers({ jobId: c.jobId, kind: c.kind, interval: c.interval })) continue;
      const index = await this.loadIndex(c.jobId);
      if (!index) continue;
      const id = BigInt(c.challengeId);
      if (c.kind === "checkpoints") {
        const a = checkpointProof(index, c.interval);
        const b = checkpointProof(index, c.interval + 1);
        await this.p.responder.send(answerCheckpoints(da, id, a, b));
        this.p.state.putChunk({ ...c, done: true, outcome: "answered" });
        log.info({ interval: c.interval }, "checkpoint demand answered");
        continue;
      }
      if (c.kind === "step-leaves") {
        const r = stepRangeProof(index, c.interval, c.first, c.count);
        await this.p.responder.send(answerStepLeaves(da, id, r.stateHashes, r.rangeProof));
        this.p.state.putChunk({ ...c, done: true, outcome: "answered" });
        log.info({ interval: c.interval, first: c.first, count: c.count }, "step-leaf demand answered");
        continue;
      }
      const prepared = await this.getPrepared(rec, await this.chainJob(BigInt(c.jobId)));
      const where = locateFile(c.fileHash, index, prepared.dataset.batches, c.batch);
      if (!where) {
        log.error({ fileHash: c.fileHash }, "challenged file is not one we committed to; cannot answer");
        this.p.state.putChunk({ ...c, done: true, outcome: "unknown file" });
        continue;
      }
      if (where.interval !== undefined && !(await this.p.store.has(where.sha256))) {
        await serveInterval({
          index,
          interval: where.interval,
          dir: path.join(this.jobDir(c.jobId), "checkpoints"),
          store: this.p.store,
          prepared: async () => prepared,
          ep: this.p.config.ep,
          threads: this.p.config.threads,
          logger: log,
        });
      }
      const proof = provenChunk(await this.p.store.get(where.sha256), c.fileHash, c.chunkIndex);
      if (!proof) {
        log.error("our bytes do not prove against the challenged hash; not answering");
        this.p.state.putChunk({ ...c, done: true, outcome: "unprovable" });
        continue;
      }
      await this.p.responder.send(answerChunk(da, id, proof.byteLength, proof.chunk, proof.proof));
      this.p.state.putChunk({ ...c, done: true, outcome: "answered" });
      this.p.metrics.chunkAnswers.inc();
      log.info({ chunkIndex: c.chunkIndex, bytes: proof.chunk.length }, "chunk challenge answered");
    }
  }
}
