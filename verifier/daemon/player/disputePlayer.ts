/**
 * One dispute, whatever this node's part in it: challenger (locate → pinpoint, or chunk-challenge
 * a state that is not served, through the DataAvailability), juror (judge → persist (vote, salt) → commit → reveal), or a
 * bystander that moves timeouts on. Runs once per tick.
 */
import { AbiCoder, ZeroHash, hexlify, keccak256, randomBytes } from "ethers";
import { contractCall } from "../../runtime/responder";
import { RESULT_INDEX_VERSION, boundaryMismatches, stepProof, type ResultIndex } from "../../protocol/resultIndex";
import { UPowError } from "../../errors";
import { rulingName } from "../../protocol/enums";
import { judgeStep } from "../check/judge";
import { locateFaultyStep } from "../check/locate";
import { SchedulerBusyError, VoteRecordError } from "../errors";
import { pinpointKey } from "../keeper/decide";
import { solveDispute } from "../solver/disputeSolver";
import { ChunkStatus, Phase, Ruling, type DisputeAction, type DisputeFacts } from "../solver/types";
import { loadJobMaterials, loadJobTerms, type PlayerContext, type Tick } from "./context";
import { chainLeavesStatus, intervalSource, stepsFromChain, type IntervalSource } from "./chainLeaves";
import { splitArtifactUri } from "../check/artifacts";
import type { JobSpec } from "../check/spec";
import type { PlayerStatus } from "./jobPlayer";

const coder = AbiCoder.defaultAbiCoder();

function voteCommitment(disputeId: bigint, round: number, juror: string, vote: number, salt: string): string {
  return keccak256(coder.encode(["uint256", "uint8", "address", "uint8", "bytes32"], [disputeId, round, juror, vote, salt]));
}

/** What `getVote(...).commitment` keeps of a vote commitment: its first 30 bytes (`bytes30`, issue 17). */
function storedCommitment(commitment: string): string {
  return commitment.slice(0, 2 + 60).toLowerCase();
}

export class DisputePlayer {
  readonly #log;
  #interval = 0;
  #jobId = 0n;
  #step = 0;
  #notedRuling = false;
  /** The interval's boundary mismatch (null: none), once the index was read. */
  #boundary: { atEnd: boolean } | null | undefined;
  #k = 0;
  /** Where the interval's step leaves come from (v3 V1.2), once the index was judged. */
  #source: IntervalSource | undefined;
  /** All k+1 leaves are on chain (they never leave). */
  #leavesComplete = false;

  constructor(
    private readonly ctx: PlayerContext,
    readonly disputeId: bigint,
  ) {
    this.#log = ctx.logger.child({ disputeId: disputeId.toString() });
  }

  async act(tick: Tick): Promise<PlayerStatus> {
    const facts = await this.#facts(tick);
    for (const action of solveDispute(facts, this.ctx.disputePolicy)) {
      await this.#run(action, facts);
    }
    const chunksOpen = facts.chunks.some((c) => c.status === ChunkStatus.Open);
    return facts.phase === Phase.Closed && !chunksOpen ? "done" : "active";
  }

  async #facts(tick: Tick): Promise<DisputeFacts> {
    const { disputeManager, jobMarket, randomness, records, me } = this.ctx;
    const bt = { blockTag: tick.block };
    const id = this.disputeId;
    const d = await disputeManager.getDispute(id, bt);
    this.#interval = Number(d.interval);
    this.#jobId = d.jobId;
    this.#step = Number(d.step);
    const phase = Number(d.phase);
    const round = Number(d.round);
    const job = phase === Phase.None ? undefined : await jobMarket.getJob(d.jobId, bt);
    if (job) this.#k = Number(job.checkpointInterval);
    let juror = { drawn: false, committed: false, revealed: false };
    let roundJurors = 0,
      roundCommits = 0,
      roundReveals = 0;
    if (phase === Phase.Voting) {
      const [r, v] = await Promise.all([disputeManager.getRound(id, round, bt), disputeManager.getVote(id, round, me, bt)]);
      roundJurors = r.jurors.length;
      roundCommits = Number(r.commits);
      roundReveals = Number(r.reveals);
      juror = { drawn: v.seats > 0n, committed: BigInt(v.commitment) !== 0n, revealed: Number(v.vote) !== Ruling.None };
      const stored = records.vote(id, round);
      if (juror.committed && !juror.revealed) {
        if (!stored) {
          this.#log.error({ round }, "committed on chain but no stored vote: cannot reveal");
        } else if (storedCommitment(voteCommitment(id, round, me, stored.vote, stored.salt)) !== storedCommitment(v.commitment)) {
          throw new VoteRecordError("stored vote does not match the on-chain commitment", { details: { disputeId: id, round } });
        }
      }
    }
    let randomnessReady = false;
    if (phase === Phase.AwaitingDraw) {
      // v3 V3.2: the draw reads its epoch's frozen weights. A call after that epoch, or once a
      // deferred draw's epoch began, schedules a fresh seed; before, it would only revert.
      const epoch = await this.ctx.stakeManager.currentEpoch(bt);
      const rb = d.randomnessBlock;
      if (epoch > d.drawEpoch || (epoch === d.drawEpoch && rb === 0n)) randomnessReady = true;
      else if (epoch === d.drawEpoch && BigInt(tick.block) > rb) {
        randomnessReady = (await randomness.isAvailable(rb, bt)) || (await randomness.isExpired(rb, bt));
      }
    }
    let maxAppeals = 0;
    let belief: DisputeFacts["belief"];
    if (phase === Phase.Ruled) {
      maxAppeals = Number((await disputeManager.params(bt)).maxAppeals);
      belief = d.challenger.toLowerCase() === me.toLowerCase() ? "fault" : this.#jurorBelief(round);
    }
    const isChallenger = d.challenger.toLowerCase() === me.toLowerCase();
    const pinpoints = Number(d.pinpoints);
    const located = records.locate(id);
    // A re-pinpoint (v3 V9.3) of a step another dispute of the job judged honest would revert.
    const locatedJudged =
      isChallenger && phase === Phase.Pinpointing && pinpoints > 0 && located?.kind === "found" && job !== undefined
        ? await disputeManager.stepJudged(d.jobId, BigInt(this.#interval) * job.checkpointInterval + BigInt(located.localStep), bt)
        : false;
    if (isChallenger && this.#boundary === undefined && phase !== Phase.None && phase !== Phase.Closed) await this.#findBoundary();
    let chainLeaves: DisputeFacts["chainLeaves"];
    if (isChallenger && phase === Phase.Pinpointing) chainLeaves = await this.#chainLeaves(tick.block);
    const chunks = [];
    for (const cid of records.chunkChallenges(id)) {
      const c = await this.ctx.dataAvailability.getChallenge(cid, bt);
      chunks.push({ challengeId: cid, status: Number(c.status), deadline: c.deadline });
    }
    return {
      disputeId: id,
      jobId: d.jobId,
      now: tick.now,
      block: tick.block,
      jobStatus: Number(job?.status ?? 0),
      phase,
      round,
      deadline: d.deadline,
      randomnessBlock: Number(d.randomnessBlock),
      commitEnd: d.commitEnd,
      revealEnd: d.revealEnd,
      appealEnd: d.appealEnd,
      isChallenger,
      randomnessReady,
      juror,
      roundJurors,
      roundCommits,
      roundReveals,
      vote: phase === Phase.Voting ? records.vote(id, round) : undefined,
      judging: this.ctx.scheduler.has(`judge:${id}:${round}`),
      locate: records.locate(id),
      locating: this.ctx.scheduler.has(`locate:${id}`),
      boundary: this.#boundary ?? undefined,
      chainLeaves,
      chunks,
      ruling: Number(d.ruling),
      appeals: Number(d.appeals),
      maxAppeals,
      belief,
      pinpoints,
      locatedJudged,
    };
  }

  /** What the chain holds of the interval's leaves when the index gives no verifiable ones; undefined otherwise. */
  async #chainLeaves(block: number): Promise<DisputeFacts["chainLeaves"]> {
    this.#source ??= await intervalSource(this.ctx, this.#jobId, this.#interval);
    if (this.#source?.kind !== "chain") return undefined;
    if (this.#leavesComplete) return { checkpointKnown: true, missing: null };
    const status = await chainLeavesStatus(this.ctx.dataAvailability, this.#jobId, this.#interval, this.#k, block);
    this.#leavesComplete = status.checkpointKnown && status.missing === null;
    return status;
  }

  /** The interval's steps: the index's, or the leaves on chain (v3 V1.2) with the store addresses the index listed. */
  async #steps(index: ResultIndex): Promise<{ index: ResultIndex; fromChain: boolean }> {
    this.#source ??= await intervalSource(this.ctx, this.#jobId, this.#interval);
    if (this.#source?.kind !== "chain") return { index, fromChain: false };
    const steps = await stepsFromChain(this.ctx.dataAvailability, this.#jobId, this.#interval, index.k, this.#source.listed);
    return { index: { ...index, intervals: index.intervals.map((r, i) => (i === this.#interval ? { steps } : r)) }, fromChain: true };
  }

  /** Whether the disputed interval's step tree disagrees with its checkpoints (retried next tick when the index cannot be read). */
  async #findBoundary(): Promise<void> {
    if ((await intervalSource(this.ctx, this.#jobId, this.#interval))?.kind === "chain") {
      this.#boundary = null; // no step tree of the index to compare
      return;
    }
    try {
      const { index } = await loadJobMaterials(this.ctx, this.#jobId);
      const m = boundaryMismatches(index).filter((b) => b.interval === this.#interval);
      this.#boundary = m.length === 0 ? null : { atEnd: m[0]!.atEnd };
      if (m.length > 0)
        this.#log.warn({ interval: this.#interval, mismatches: m }, "interval's step states disagree with its checkpoints: provable");
    } catch (err) {
      this.#log.warn(
        { err: err instanceof UPowError ? err.shortMessage : String(err) },
        "result index unavailable; boundary check deferred",
      );
    }
  }

  /** The latest of this node's stored juror votes up to `round` (Indeterminate holds no view). */
  #jurorBelief(round: number): DisputeFacts["belief"] {
    for (let r = round; r >= 0; r--) {
      const v = this.ctx.records.vote(this.disputeId, r);
      if (v?.vote === Ruling.WorkerFault) return "fault";
      if (v?.vote === Ruling.WorkerHonest) return "honest";
    }
    return undefined;
  }

  async #run(action: DisputeAction, facts: DisputeFacts): Promise<void> {
    const { disputeManager, responder, metrics } = this.ctx;
    const id = this.disputeId;
    const dm = disputeManager;
    switch (action.type) {
      case "locate":
        this.#schedule(`locate:${id}`, async (signal) => {
          const { spec, index: listed } = await this.#materials();
          const { index } = await this.#steps(listed);
          const o = await locateFaultyStep({
            spec,
            index,
            interval: this.#interval,
            client: this.ctx.client,
            runners: this.ctx.runners,
            settings: this.ctx.settings[0],
            signal,
            logger: this.#log,
          });
          this.ctx.records.putLocate(id, o);
        });
        return;
      case "pinpoint": {
        const { index: listed } = await this.#materials();
        const { index, fromChain } = await this.#steps(listed);
        // Leaves stored on chain are named with an empty proof (the contract reads them).
        const claim = (j: number) =>
          fromChain ? { stateHash: index.intervals[this.#interval]!.steps[j]!.stateHash, proof: [] } : stepProof(index, this.#interval, j);
        const a = claim(action.localStep);
        const b = claim(action.localStep + 1);
        await responder.respond(
          contractCall(
            dm,
            "pinpoint",
            [id, action.localStep, { stateHash: a.stateHash, proof: a.proof }, { stateHash: b.stateHash, proof: b.proof }],
            { key: pinpointKey(id, facts.pinpoints ?? 0), purpose: "pinpoint" },
          ),
        );
        return;
      }
      case "proveBoundary": {
        const { index } = await loadJobMaterials(this.ctx, this.#jobId);
        const p = stepProof(index, this.#interval, action.atEnd ? index.k : 0);
        const r = await responder.respond(
          contractCall(dm, "proveBoundaryMismatch", [id, action.atEnd, p.stateHash, p.proof], {
            key: `boundary:${id}`,
            purpose: "boundary-mismatch",
          }),
        );
        if (r.kind === "sent" && r.result.kind === "mined" && !r.result.reused)
          this.#log.warn({ atEnd: action.atEnd }, "boundary mismatch proven: worker convicted");
        return;
      }
      case "challengeChunk":
        await this.#challengeChunk(action.leafIndex, action.chunkIndex);
        return;
      case "demandStepLeaves":
        await this.#demandStepLeaves(action.first, action.count);
        return;
      case "timeoutChunk":
        await responder.respond(
          contractCall(this.ctx.dataAvailability, "timeoutChallenge", [action.challengeId], {
            key: `chunk-timeout:${action.challengeId}`,
            purpose: "chunk-timeout",
          }),
        );
        return;
      case "timeoutPinpoint":
        await responder.respond(contractCall(dm, "timeoutPinpoint", [id], { key: `pinpoint-timeout:${id}`, purpose: "pinpoint-timeout" }));
        return;
      case "drawCommittee":
        // A draw applies at most 32 queued reserve changes itself; a longer queue (someone flooding
        // it) must be applied first or the draw reverts (v3 V3.6).
        if (!(await this.ctx.stakeManager.queueSettled())) {
          await responder.respond(
            contractCall(this.ctx.stakeManager, "applyQueued", [256], { key: `apply-queue:${id}:${facts.block}`, purpose: "apply-queue" }),
          );
        }
        await responder.respond(
          contractCall(dm, "drawCommittee", [id], {
            key: `draw-committee:${id}:${facts.round}:${facts.randomnessBlock}`,
            purpose: "draw-committee",
          }),
        );
        return;
      case "judge": {
        const round = facts.round;
        const step = this.#step;
        this.#schedule(`judge:${id}:${round}`, async (signal) => {
          // One run per step, however many disputes of this job seat us on it.
          const v = await this.ctx.judgements.judge({ jobId: this.#jobId, interval: this.#interval, globalStep: step }, async () => {
            let materials = null;
            try {
              const m = await this.#materials();
              materials = { spec: m.spec, index: (await this.#steps(m.index)).index };
            } catch (err) {
              // Also an InvalidSpec refusal (V8.2): nothing is run and the vote is Indeterminate, the
              // chain having no InvalidSpec ruling.
              this.#log.warn({ err: err instanceof UPowError ? err.shortMessage : String(err) }, "juror: job materials unavailable");
            }
            return judgeStep({
              spec: materials?.spec ?? null,
              index: materials?.index ?? null,
              interval: this.#interval,
              globalStep: step,
              client: this.ctx.client,
              runners: this.ctx.runners,
              settings: this.ctx.settings,
              signal,
              logger: this.#log,
            });
          });
          // Durable BEFORE any commitment is sent; a second judgement never replaces the first.
          const stored = this.ctx.records.putVoteOnce(id, round, { vote: v.vote, salt: hexlify(randomBytes(32)) });
          this.#log.info({ round, vote: rulingName(stored.vote), reason: v.reason, reused: v.reused }, "juror: vote stored");
        });
        return;
      }
      case "commitVote": {
        const c = voteCommitment(id, action.round, this.ctx.me, action.vote.vote, action.vote.salt);
        const r = await responder.respond(
          contractCall(dm, "commitVote", [id, c], { key: `vote-commit:${id}:${action.round}`, purpose: "vote-commit" }),
        );
        if (r.kind === "sent" && r.result.kind === "mined" && !r.result.reused) metrics?.votesCommitted.inc();
        return;
      }
      case "revealVote": {
        const r = await responder.respond(
          contractCall(dm, "revealVote", [id, action.vote.vote, action.vote.salt], {
            key: `vote-reveal:${id}:${action.round}`,
            purpose: "vote-reveal",
          }),
        );
        if (r.kind === "sent" && r.result.kind === "mined" && !r.result.reused) metrics?.votesRevealed.inc();
        return;
      }
      case "resolve":
        await responder.respond(contractCall(dm, "resolve", [id], { key: `resolve:${id}:${action.round}`, purpose: "resolve" }));
        return;
      case "finalizeRuling":
        await responder.respond(contractCall(dm, "finalizeRuling", [id], { key: `finalize-ruling:${id}`, purpose: "finalize-ruling" }));
        return;
      case "closeMoot":
        await responder.respond(contractCall(dm, "closeMoot", [id], { key: `close-moot:${id}`, purpose: "close-moot" }));
        return;
      case "appeal":
        await this.#appeal(action.round);
        return;
      case "rulingDisputed":
        if (!this.#notedRuling) {
          this.#notedRuling = true;
          this.#log.warn(
            { ruling: rulingName(facts.ruling), belief: facts.belief, appealEnd: facts.appealEnd.toString(), why: action.why },
            action.why === "policy"
              ? "ruling goes against us; not appealing (start with --appeal to appeal)"
              : "ruling goes against us; cannot appeal",
          );
        }
        return;
    }
  }

  /** Appeal with the appeal bond (allowance first); keyed per round so it is never sent twice. */
  async #appeal(round: number): Promise<void> {
    const { disputeManager, stakingToken, responder, me } = this.ctx;
    const params = await disputeManager.params();
    if (!(await responder.allowBond({ token: stakingToken, owner: me, spender: disputeManager, amount: params.appealBond }))) return;
    const r = await responder.respond(
      contractCall(disputeManager, "appeal", [this.disputeId], { key: `appeal:${this.disputeId}:${round}`, purpose: "appeal" }),
    );
    if (r.kind === "sent" && r.result.kind === "mined" && !r.result.reused) {
      this.#log.warn(
        { round, ...(await this.ctx.tokens.fields("bond", await stakingToken.getAddress(), params.appealBond)) },
        "ruling appealed",
      );
    }
  }

  /**
   * Spec and index; an unverifiable index (v3 V1.4) gives an index of the job's terms with no
   * listed step (its leaves come from the chain), with the resultURI's base for fetches.
   */
  async #materials(): Promise<{ spec: JobSpec; index: ResultIndex }> {
    const { terms, resultURI, verdict } = await loadJobTerms(this.ctx, this.#jobId);
    const spec = await this.ctx.specs.load(terms);
    if (verdict.kind === "committed") return { spec, index: verdict.committed.index };
    const base = splitArtifactUri(resultURI)?.base;
    const n = Number(terms.totalSteps / terms.checkpointInterval);
    return {
      spec,
      index: {
        version: RESULT_INDEX_VERSION,
        jobId: this.#jobId.toString(),
        specHash: terms.specHash,
        checkpointRoot: ZeroHash,
        T: Number(terms.totalSteps),
        k: Number(terms.checkpointInterval),
        checkpoints: [],
        intervals: Array.from({ length: n }, () => ({ steps: [] })),
        artifactBaseUrls: base === undefined ? [] : [base],
      },
    };
  }

  /** Demands step leaves the index does not give (leafBond); the demand is followed like a chunk challenge. */
  async #demandStepLeaves(first: number, count: number): Promise<void> {
    const { dataAvailability: da, stakingToken, responder, records, me } = this.ctx;
    const id = this.disputeId;
    const params = await da.params();
    if (!(await responder.allowBond({ token: stakingToken, owner: me, spender: da, amount: params.leafBond }))) return;
    const r = await responder.respond(
      contractCall(da, "demandStepLeaves", [this.#jobId, id, this.#interval, first, count], {
        key: `leaf-demand:${id}:${first}`,
        purpose: "leaf-demand",
      }),
    );
    if (r.kind !== "sent" || r.result.kind !== "mined") return;
    const logs = await da.queryFilter(da.filters.ChallengeOpened(undefined, this.#jobId, id), r.result.blockNumber, r.result.blockNumber);
    for (const l of logs) if (l.args.opener.toLowerCase() === me.toLowerCase()) records.addChunkChallenge(id, l.args.challengeId);
    this.#log.warn({ interval: this.#interval, first, count }, "step leaves demanded: the result index gives no verifiable ones");
  }

  #schedule(key: string, task: (signal: AbortSignal) => Promise<void>): void {
    this.ctx.scheduler.schedule(key, task, { budgetMs: this.ctx.taskBudgetMs }).catch((err: unknown) => {
      if (err instanceof SchedulerBusyError) return;
      const e = err instanceof UPowError ? { name: err.name, err: err.shortMessage, details: err.details } : { err: String(err) };
      this.#log.error({ key, ...e }, "dispute work failed; will retry on a later tick");
    });
  }

  /**
   * Chunk-challenges a step state that is not served (DataAvailability): the step leaf is stored
   * first (proveStepLeaves with its proof from the result index), then challengeStateChunk.
   */
  async #challengeChunk(leafIndex: number, chunkIndex: number): Promise<void> {
    const { dataAvailability: da, stakingToken, responder, records, me } = this.ctx;
    const id = this.disputeId;
    const params = await da.params();
    if (!(await responder.allowBond({ token: stakingToken, owner: me, spender: da, amount: params.chunkBond }))) return;
    const globalStep = BigInt(this.#interval * this.#k + leafIndex);
    if (!(await da.stepLeaf(this.#jobId, globalStep)).known) {
      const { index } = await loadJobMaterials(this.ctx, this.#jobId);
      const p = stepProof(index, this.#interval, leafIndex);
      const r = await responder.respond(
        contractCall(da, "proveStepLeaves", [this.#jobId, this.#interval, leafIndex, [p.stateHash], p.proof], {
          key: `prove-step-leaf:${this.#jobId}:${globalStep}`,
          purpose: "prove-step-leaves",
        }),
      );
      if (r.kind !== "sent") return;
    }
    const r = await responder.respond(
      contractCall(da, "challengeStateChunk", [this.#jobId, id, this.#interval, leafIndex, chunkIndex], {
        key: `chunk:${id}:${leafIndex}:${chunkIndex}`,
        purpose: "chunk-challenge",
      }),
    );
    if (r.kind !== "sent" || r.result.kind !== "mined") return;
    const logs = await da.queryFilter(da.filters.ChallengeOpened(undefined, this.#jobId, id), r.result.blockNumber, r.result.blockNumber);
    for (const l of logs) if (l.args.opener.toLowerCase() === me.toLowerCase()) records.addChunkChallenge(id, l.args.challengeId);
    this.#log.warn({ leafIndex, chunkIndex, challenges: logs.length }, "chunk challenge opened: state not served");
  }
}
