/**
 * One job: audit (own sample, or assigned-auditor duty), attest, challenge (commit → open), and the
 * permissionless moves that pay this node (finalize, release). Runs once per tick; heavy work goes
 * to the scheduler and its result is picked up on a later tick from the records.
 */
import { hexlify, keccak256, AbiCoder, randomBytes, ZeroHash } from "ethers";
import { contractCall } from "../../runtime/responder";
import { checkpointProof } from "../../protocol/resultIndex";
import { UPowError } from "../../errors";
import { runAudit, unreachableVerdict } from "../check/audit";
import { IndexPendingError } from "../check/resultIndex";
import { ArtifactsUnreachableError, JobRefusedError, SchedulerBusyError } from "../errors";
import { solveJob } from "../solver/jobSolver";
import { AuditorState, JobStatus, Phase, type AuditOutcome, type JobAction, type JobFacts } from "../solver/types";
import { auditSample } from "../../protocol/auditSample";
import { auditSteps, DEFAULT_SINGLE_STEPS } from "../audit/steps";
import { stepStateFetcher } from "../check/stepStates";
import { loadJobTerms, type PlayerContext, type Tick } from "./context";

const coder = AbiCoder.defaultAbiCoder();

export type PlayerStatus = "active" | "done";

export class JobPlayer {
  readonly #log;

  constructor(
    private readonly ctx: PlayerContext,
    readonly jobId: bigint,
  ) {
    this.#log = ctx.logger.child({ jobId: jobId.toString() });
  }

  async act(tick: Tick): Promise<PlayerStatus> {
    const facts = await this.#facts(tick);
    const done =
      facts.status === JobStatus.Finalized || facts.status === JobStatus.Rejected || facts.status === JobStatus.Cancelled
        ? facts.auditorState !== AuditorState.Attested
        : false;
    for (const action of solveJob(facts, this.ctx.jobPolicy)) {
      await this.#run(action, facts);
    }
    return done ? "done" : "active";
  }

  async #facts(tick: Tick): Promise<JobFacts> {
    const { jobMarket, auditManager, disputeManager, records, me } = this.ctx;
    const bt = { blockTag: tick.block };
    const job = await jobMarket.getJob(this.jobId, bt);
    const submittedLike = Number(job.status) >= JobStatus.Submitted;
    const [audit, auditorState] = submittedLike
      ? await Promise.all([auditManager.getAudit(this.jobId, bt), auditManager.auditorState(this.jobId, me, bt)])
      : [undefined, 0n];
    // Attesters wait for the canary reveal period (v3 V11.1), unless the canary was revealed.
    let releasableAfter = 0n;
    if (audit?.settled === true && !audit.canaryRevealed && Number(auditorState) === AuditorState.Attested) {
      releasableAfter = job.windowEnd + (await auditManager.canaryRevealPeriod(bt));
    }
    let seedReady = false;
    if (Number(job.status) === JobStatus.Submitted) {
      // True when drawAuditors would draw or (re)schedule the draw's seed (v3 V3.2).
      seedReady = await auditManager.canDraw(this.jobId, bt);
    }
    const outcome = records.audit(this.jobId);
    const challenges = records.challenges(this.jobId).map((c) => {
      if (c.commitBlock !== null) return c;
      const mined = this.ctx.minedBlock(commitKey(this.jobId, c.interval));
      if (mined === null) return c;
      const updated = { ...c, commitBlock: mined };
      records.putChallenge(this.jobId, updated);
      return updated;
    });
    const activeDisputes = new Map<number, bigint>();
    if (outcome?.kind === "failed") {
      for (const i of outcome.failedIntervals) {
        // v3: one live dispute per (challenger, interval); ours is the one that counts.
        let active = await disputeManager.disputeOf(this.jobId, i, me, bt);
        const ours = challenges.find((c) => c.interval === i)?.disputeId;
        // Our dispute was opened above the tick block (reads lag by `confirmations`): it is still
        // ours and active, not "ended" — else the solver would move on and bond the next interval.
        if (active === 0n && ours != null && Number((await disputeManager.getDispute(ours, bt)).phase) === Phase.None) active = ours;
        activeDisputes.set(i, active);
      }
    }
    return {
      jobId: this.jobId,
      status: Number(job.status),
      now: tick.now,
      block: tick.block,
      windowEnd: job.windowEnd,
      openDisputes: Number(job.openDisputes),
      checkpointCount: Number(job.totalSteps / (job.checkpointInterval === 0n ? 1n : job.checkpointInterval)) + 1,
      auditorsDrawn: audit?.drawn ?? false,
      seedReady,
      auditorState: Number(auditorState),
      auditSettled: audit?.settled ?? false,
      releasableAfter,
      audit: outcome,
      auditRunning: this.ctx.scheduler.has(`audit:${this.jobId}`),
      challenges,
      activeDisputes,
    };
  }

  async #run(action: JobAction, facts: JobFacts): Promise<void> {
    const { jobMarket, auditManager, disputeManager, responder, records } = this.ctx;
    const id = this.jobId;
    switch (action.type) {
      case "audit":
        this.#scheduleAudit(facts);
        return;
      case "drawAuditors": {
        const sm = this.ctx.stakeManager;
        if (!(await sm.queueSettled())) {
          // More queued reserve changes than a draw applies itself (v3 V3.6): apply them first.
          await responder.respond(
            contractCall(sm, "applyQueued", [256], { key: `apply-queue:job${id}:${facts.block}`, purpose: "apply-queue" }),
          );
        }
        // A call may only (re)schedule the draw's seed (v3 V3.2): one intent per schedule.
        const a = await auditManager.getAudit(id);
        await responder.respond(
          contractCall(auditManager, "drawAuditors", [id], {
            key: `draw-auditors:${id}:${a.drawEpoch}:${a.drawTarget}`,
            purpose: "draw-auditors",
          }),
        );
        return;
      }
      case "attest": {
        // Where the fee share will be credited, known before the attestation leaves.
        records.addFeeToken((await jobMarket.getJob(id)).paymentToken);
        const r = await responder.respond(
          contractCall(auditManager, "attest", [id, action.sample], { key: `attest:${id}`, purpose: "attest" }),
        );
        if (r.kind === "sent") this.ctx.metrics?.auditsRun.inc({ result: "attested" });
        return;
      }
      case "commitChallenge": {
        let rec = records.challenges(id).find((c) => c.interval === action.interval);
        if (!rec) {
          const salt = hexlify(randomBytes(32));
          const commitment = keccak256(coder.encode(["uint256", "uint64", "address", "bytes32"], [id, action.interval, this.ctx.me, salt]));
          rec = { interval: action.interval, salt, commitment, commitBlock: null, disputeId: null };
          records.putChallenge(id, rec); // the salt is on disk before the commitment leaves
        }
        // commitChallenge pulls commitBond (and openDispute the disputeBond): approve them first.
        if (!(await this.#approveBonds())) return;
        const r = await responder.respond(
          contractCall(disputeManager, "commitChallenge", [rec.commitment], {
            key: commitKey(id, action.interval),
            purpose: "challenge-commit",
          }),
        );
        if (r.kind === "sent" && r.result.kind === "mined") records.putChallenge(id, { ...rec, commitBlock: r.result.blockNumber });
        return;
      }
      case "openDispute":
        await this.#openDispute(action.interval, action.salt);
        return;
      case "finalize":
        await responder.respond(contractCall(jobMarket, "finalize", [id], { key: `finalize:${id}`, purpose: "finalize" }));
        return;
      case "releaseAttester":
        records.addFeeToken((await jobMarket.getJob(id)).paymentToken);
        await responder.respond(
          contractCall(auditManager, "releaseAttester", [id, this.ctx.me], { key: `release:${id}`, purpose: "release-attester" }),
        );
        return;
    }
  }

  #scheduleAudit(facts: JobFacts): void {
    const ctx = this.ctx;
    const id = this.jobId;
    ctx.scheduler
      .schedule(
        `audit:${id}`,
        async (signal) => {
          const { terms: jobTerms, verdict } = await loadJobTerms(ctx, id);
          let spec;
          try {
            spec = await ctx.specs.load(jobTerms);
          } catch (err) {
            if (!(err instanceof JobRefusedError)) throw err;
            // V8: a job whose cost is understated or above our caps is never run; the refusal is final.
            const refused: AuditOutcome = { kind: "skipped", sample: [], reason: `${err.name}: ${err.shortMessage}` };
            ctx.records.putAudit(id, refused);
            ctx.metrics?.auditsRun.inc({ result: "skipped" });
            this.#log.warn(
              { reason: `${err.name}: ${err.shortMessage}`, details: err.details },
              "audit refused: nothing of the job is run",
            );
            return refused;
          }
          // The audit seed is known once auditors are drawn. The sample is AuditManager.sampleOf's rule;
          // an assigned auditor's grows with its seats, a volunteer samples as one seat.
          const [audit, terms, seats] = await Promise.all([
            ctx.auditManager.getAudit(id),
            ctx.jobMarket.jobTerms(id),
            ctx.auditManager.auditorSeats(id, ctx.me),
          ]);
          const perSeat = Number(terms.samplesPerAuditor);
          const sample = auditSample({
            auditSeed: audit.seed,
            jobId: id,
            verifier: ctx.me,
            checkpointCount: facts.checkpointCount,
            samples: perSeat * Math.max(1, Number(seats)),
          });
          if (verdict.kind === "unverifiable") {
            // Nothing in the index can be trusted: the worker must post the checkpoint leaves on
            // chain (a dispute opened without proofs, v3 V1.1) instead of this node asking forever.
            const outcome: AuditOutcome = {
              kind: "failed",
              sample,
              failedIntervals: [sample[0] ?? 0],
              reason: `result index unverifiable: ${verdict.reason}`,
            };
            ctx.records.putAudit(id, outcome);
            ctx.metrics?.auditsRun.inc({ result: "disputed" });
            this.#log.warn(
              { reason: verdict.reason, interval: outcome.failedIntervals[0] },
              "audit: result index unverifiable; checkpoint leaves demanded on chain",
            );
            return outcome;
          }
          const { index, failed } = verdict.committed;
          const unreachable = unreachableVerdict(ctx.records.unreachable(id), Date.now(), ctx.unserved);
          this.#log.info({ sample, unreachable }, "audit started");
          let outcome;
          try {
            outcome = await runAudit({
              spec,
              index,
              indexFailures: failed,
              sample,
              client: ctx.client,
              runners: ctx.runners,
              settings: ctx.settings[0],
              signal,
              logger: this.#log,
              onReplay: (s) => ctx.metrics?.replaySeconds.observe(s),
              unreachable,
              singleSteps: (i) =>
                auditSteps({
                  auditSeed: audit.seed,
                  jobId: id,
                  verifier: ctx.me,
                  interval: i,
                  k: spec.k,
                  u: ctx.singleSteps ?? DEFAULT_SINGLE_STEPS,
                }),
              fetchStepState: stepStateFetcher({
                client: ctx.client,
                index,
                jobId: id,
                maxStateBytes: spec.maxStateBytes,
                logger: this.#log,
                ...(ctx.stateRequests ? { signing: ctx.stateRequests } : {}),
              }),
            });
          } catch (err) {
            if (!(err instanceof ArtifactsUnreachableError)) throw err;
            // No bond on a fetch that may have failed on our side: retried on later ticks until the
            // grace period and attempt count are both spent, then the intervals count as not served.
            const rec = ctx.records.noteUnreachable(id, Date.now());
            ctx.metrics?.auditsRun.inc({ result: "deferred" });
            this.#log.warn(
              { intervals: err.intervals, attempts: rec.attempts, sinceMs: Date.now() - rec.firstAtMs, graceMs: ctx.unserved.graceMs },
              "audit deferred: sampled checkpoints unreachable",
            );
            return undefined;
          }
          ctx.records.putAudit(id, outcome);
          ctx.metrics?.auditsRun.inc({ result: outcome.kind === "failed" ? "disputed" : outcome.kind === "passed" ? "passed" : "skipped" });
          this.#log.info(
            {
              outcome: outcome.kind,
              ...(outcome.kind === "failed" ? { failedIntervals: outcome.failedIntervals, reason: outcome.reason } : {}),
            },
            "audit finished",
          );
          return outcome;
        },
        { budgetMs: ctx.taskBudgetMs },
      )
      .catch((err: unknown) => {
        if (err instanceof SchedulerBusyError) return; // asked again next tick
        if (err instanceof IndexPendingError) {
          this.#log.info({ err: err.shortMessage, details: err.details }, "audit waits for the result index (retry backs off)");
          return;
        }
        const e = err instanceof UPowError ? { name: err.name, err: err.shortMessage, details: err.details } : { err: String(err) };
        this.#log.error(e, "audit could not run; will retry on a later tick");
        ctx.metrics?.auditsRun.inc({ result: "error" });
      });
  }

  /** Allowance of the DisputeManager for the commit and dispute bonds; false while the approval is not mined. */
  async #approveBonds(): Promise<boolean> {
    const { disputeManager, stakingToken, responder, me } = this.ctx;
    const params = await disputeManager.params();
    return responder.allowBond({ token: stakingToken, owner: me, spender: disputeManager, amount: params.disputeBond + params.commitBond });
  }

  async #openDispute(interval: number, salt: string): Promise<void> {
    const { disputeManager, responder, records, me } = this.ctx;
    const id = this.jobId;
    if (!(await this.#approveBonds())) return;
    let verdict;
    try {
      ({ verdict } = await loadJobTerms(this.ctx, id));
    } catch (err) {
      this.#log.error(
        { err: err instanceof UPowError ? err.shortMessage : String(err) },
        "cannot open dispute: result index not judged yet",
      );
      return;
    }
    // Empty proofs: the DataAvailability opens a checkpoint demand the worker must answer (v3 V1.1).
    const none = { index: interval, n: 0, stateHash: ZeroHash, stepRoot: ZeroHash, leaf: ZeroHash, proof: [] };
    const c0 = verdict.kind === "committed" ? checkpointProof(verdict.committed.index, interval) : none;
    const c1 = verdict.kind === "committed" ? checkpointProof(verdict.committed.index, interval + 1) : none;
    const r = await responder.respond(
      contractCall(
        disputeManager,
        "openDispute",
        [
          id,
          interval,
          salt,
          { stateHash: c0.stateHash, stepRoot: c0.stepRoot, proof: c0.proof },
          { stateHash: c1.stateHash, stepRoot: c1.stepRoot, proof: c1.proof },
          0n, // hint: none (costs only gas)
        ],
        { key: `dispute-open:${id}:${interval}`, purpose: "dispute-open" },
      ),
    );
    if (r.kind !== "sent") return;
    const disputeId = await disputeManager.disputeOf(id, interval, me);
    const d = await disputeManager.getDispute(disputeId);
    if (disputeId !== 0n && d.challenger.toLowerCase() === me.toLowerCase()) {
      const rec = records.challenges(id).find((c) => c.interval === interval)!;
      records.putChallenge(id, { ...rec, disputeId });
      records.followDispute(disputeId);
      if (verdict.kind === "unverifiable" && r.result.kind === "mined") {
        // The checkpoint demand opened with the dispute: followed (and timed out) like a chunk challenge.
        const da = this.ctx.dataAvailability;
        const logs = await da.queryFilter(da.filters.ChallengeOpened(undefined, id, disputeId), r.result.blockNumber, r.result.blockNumber);
        for (const l of logs) records.addChunkChallenge(disputeId, l.args.challengeId);
      }
      this.ctx.metrics?.disputesOpened.inc();
      this.#log.warn({ interval, disputeId: disputeId.toString() }, "dispute opened");
    }
  }
}

function commitKey(jobId: bigint, interval: number): string {
  return `challenge-commit:${jobId}:${interval}`;
}
