/**
 * One dispute, whatever this node's part in it: challenger (locate → pinpoint, or chunk-challenge
 * a state that is not served, through the DataAvailability), juror (judge → persist (vote, salt) → commit → reveal), or a
 * bystander that moves timeouts on. Runs once per tick.
 */
import { AbiCoder, MaxUint256, hexlify, keccak256, randomBytes } from "ethers";
import { boundaryMismatches, stepProof } from "../../protocol/resultIndex";
import { UPowError } from "../../errors";
import { judgeStep } from "../check/judge";
import { locateFaultyStep } from "../check/locate";
import { SchedulerBusyError, VoteRecordError } from "../errors";
import { solveDispute } from "../solver/disputeSolver";
import { ChunkStatus, Phase, type DisputeAction, type DisputeFacts } from "../solver/types";
import { loadJobMaterials, type PlayerContext, type Tick } from "./context";
import type { PlayerStatus } from "./jobPlayer";

const coder = AbiCoder.defaultAbiCoder();

export function voteCommitment(disputeId: bigint, round: number, juror: string, vote: number, salt: string): string {
  return keccak256(coder.encode(["uint256", "uint8", "address", "uint8", "bytes32"], [disputeId, round, juror, vote, salt]));
}

export class DisputePlayer {
  readonly #log;
  #interval = 0;
  #jobId = 0n;
  #step = 0;
  #notedRuling = false;
  /** The interval's boundary mismatch (null: none), once the index was read. */
  #boundary: { atEnd: boolean } | null | undefined;

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
    let juror = { drawn: false, committed: false, revealed: false };
    let roundJurors = 0, roundCommits = 0, roundReveals = 0;
    if (phase === Phase.Voting) {
      const [r, v] = await Promise.all([disputeManager.getRound(id, round, bt), disputeManager.getVote(id, round, me, bt)]);
      roundJurors = r.jurors.length;
      roundCommits = Number(r.commits);
      roundReveals = Number(r.reveals);
      juror = { drawn: v.seats > 0n, committed: v.commitment !== `0x${"00".repeat(32)}`, revealed: Number(v.vote) !== 0 };
      const stored = records.vote(id, round);
      if (juror.committed && !juror.revealed) {
        if (!stored) {
          this.#log.error({ round }, "committed on chain but no stored vote: cannot reveal");
        } else if (voteCommitment(id, round, me, stored.vote, stored.salt) !== v.commitment) {
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
    if (isChallenger && this.#boundary === undefined && phase !== Phase.None && phase !== Phase.Closed) await this.#findBoundary();
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
      chunks,
      ruling: Number(d.ruling),
      appeals: Number(d.appeals),
      maxAppeals,
      belief,
    };
  }

  /** Whether the disputed interval's step tree disagrees with its checkpoints (retried next tick when the index cannot be read). */
  async #findBoundary(): Promise<void> {
    try {
      const { index } = await loadJobMaterials(this.ctx, this.#jobId);
      const m = boundaryMismatches(index).filter((b) => b.interval === this.#interval);
      this.#boundary = m.length === 0 ? null : { atEnd: m[0]!.atEnd };
      if (m.length > 0) this.#log.warn({ interval: this.#interval, mismatches: m }, "interval's step states disagree with its checkpoints: provable");
    } catch (err) {
      this.#log.warn({ err: err instanceof UPowError ? err.shortMessage : String(err) }, "result index unavailable; boundary check deferred");
    }
  }

  /** The latest of this node's stored juror votes up to `round` (Indeterminate holds no view). */
  #jurorBelief(round: number): DisputeFacts["belief"] {
    for (let r = round; r >= 0; r--) {
      const v = this.ctx.records.vote(this.disputeId, r);
      if (v?.vote === 1) return "fault";
      if (v?.vote === 2) return "honest";
    }
    return undefined;
  }

  async #run(action: DisputeAction, facts: DisputeFacts): Promise<void> {
    const { disputeManager, responder, metrics } = this.ctx;
    const id = this.disputeId;
    const to = await disputeManager.getAddress();
    const call = (key: string, purpose: string, data: string) => responder.respond({ key, purpose, to, data });
    const dm = disputeManager.interface;
    switch (action.type) {
      case "locate":
        this.#schedule(`locate:${id}`, async (signal) => {
          const { spec, index } = await loadJobMaterials(this.ctx, this.#jobId);
          const o = await locateFaultyStep({ spec, index, interval: this.#interval, client: this.ctx.client, runners: this.ctx.runners, settings: this.ctx.settings[0], signal, logger: this.#log });
          this.ctx.records.putLocate(id, o);
        });
        return;
      case "pinpoint": {
        const { index } = await loadJobMaterials(this.ctx, this.#jobId);
        const a = stepProof(index, this.#interval, action.localStep);
        const b = stepProof(index, this.#interval, action.localStep + 1);
        await call(`pinpoint:${id}`, "pinpoint", dm.encodeFunctionData("pinpoint", [
          id, action.localStep, { stateHash: a.stateHash, proof: a.proof }, { stateHash: b.stateHash, proof: b.proof },
        ]));
        return;
      }
      case "proveBoundary": {
        const { index } = await loadJobMaterials(this.ctx, this.#jobId);
        const p = stepProof(index, this.#interval, action.atEnd ? index.k : 0);
        const r = await call(`boundary:${id}`, "boundary-mismatch", dm.encodeFunctionData("proveBoundaryMismatch", [id, action.atEnd, p.stateHash, p.proof]));
        if (r.kind === "sent" && r.result.kind === "mined" && !r.result.reused) this.#log.warn({ atEnd: action.atEnd }, "boundary mismatch proven: worker convicted");
        return;
      }
      case "challengeChunk":
        await this.#challengeChunk(action.leafIndex, action.chunkIndex);
        return;
      case "timeoutChunk":
        await responder.respond({
          key: `chunk-timeout:${action.challengeId}`, purpose: "chunk-timeout", to: await this.ctx.dataAvailability.getAddress(),
          data: this.ctx.dataAvailability.interface.encodeFunctionData("timeoutChallenge", [action.challengeId]),
        });
        return;
      case "timeoutPinpoint":
        await call(`pinpoint-timeout:${id}`, "pinpoint-timeout", dm.encodeFunctionData("timeoutPinpoint", [id]));
        return;
      case "drawCommittee":
        // A draw applies at most 32 queued reserve changes itself; a longer queue (someone flooding
        // it) must be applied first or the draw reverts (v3 V3.6).
        if (!(await this.ctx.stakeManager.queueSettled())) {
          const sm = this.ctx.stakeManager;
          await responder.respond({
            key: `apply-queue:${id}:${facts.block}`, purpose: "apply-queue", to: await sm.getAddress(),
            data: sm.interface.encodeFunctionData("applyQueued", [256]),
          });
        }
        await call(`draw-committee:${id}:${facts.round}:${facts.randomnessBlock}`, "draw-committee", dm.encodeFunctionData("drawCommittee", [id]));
        return;
      case "judge": {
        const round = facts.round;
        const step = this.#step;
        this.#schedule(`judge:${id}:${round}`, async (signal) => {
          let materials = null;
          try {
            materials = await loadJobMaterials(this.ctx, this.#jobId);
          } catch (err) {
            // Also an InvalidSpec refusal (V8.2): nothing is run and the vote is Indeterminate, the
            // chain having no InvalidSpec ruling.
            this.#log.warn({ err: err instanceof UPowError ? err.shortMessage : String(err) }, "juror: job materials unavailable");
          }
          const v = await judgeStep({
            spec: materials?.spec ?? null, index: materials?.index ?? null, interval: this.#interval, globalStep: step,
            client: this.ctx.client, runners: this.ctx.runners, settings: this.ctx.settings, signal, logger: this.#log,
          });
          // Durable BEFORE any commitment is sent; a second judgement never replaces the first.
          const stored = this.ctx.records.putVoteOnce(id, round, { vote: v.vote, salt: hexlify(randomBytes(32)) });
          this.#log.info({ round, vote: stored.vote, reason: v.reason }, "juror: vote stored");
        });
        return;
      }
      case "commitVote": {
        const c = voteCommitment(id, action.round, this.ctx.me, action.vote.vote, action.vote.salt);
        const r = await call(`vote-commit:${id}:${action.round}`, "vote-commit", dm.encodeFunctionData("commitVote", [id, c]));
        if (r.kind === "sent" && r.result.kind === "mined" && !r.result.reused) metrics?.votesCommitted.inc();
        return;
      }
      case "revealVote": {
        const r = await call(`vote-reveal:${id}:${action.round}`, "vote-reveal", dm.encodeFunctionData("revealVote", [id, action.vote.vote, action.vote.salt]));
        if (r.kind === "sent" && r.result.kind === "mined" && !r.result.reused) metrics?.votesRevealed.inc();
        return;
      }
      case "resolve":
        await call(`resolve:${id}:${action.round}`, "resolve", dm.encodeFunctionData("resolve", [id]));
        return;
      case "finalizeRuling":
        await call(`finalize-ruling:${id}`, "finalize-ruling", dm.encodeFunctionData("finalizeRuling", [id]));
        return;
      case "closeMoot":
        await call(`close-moot:${id}`, "close-moot", dm.encodeFunctionData("closeMoot", [id]));
        return;
      case "appeal":
        await this.#appeal(action.round);
        return;
      case "rulingDisputed":
        if (!this.#notedRuling) {
          this.#notedRuling = true;
          this.#log.warn({ ruling: facts.ruling, belief: facts.belief, appealEnd: facts.appealEnd.toString(), why: action.why },
            action.why === "policy" ? "ruling goes against us; not appealing (start with --appeal to appeal)" : "ruling goes against us; cannot appeal");
        }
        return;
    }
  }

  /** Appeal with the appeal bond (allowance first); keyed per round so it is never sent twice. */
  async #appeal(round: number): Promise<void> {
    const { disputeManager, stakingToken, responder, me } = this.ctx;
    const to = await disputeManager.getAddress();
    const params = await disputeManager.params();
    if ((await stakingToken.allowance(me, to)) < params.appealBond) {
      const r = await responder.respond({ key: `approve:${to}`, purpose: "approve-bonds", to: await stakingToken.getAddress(), data: stakingToken.interface.encodeFunctionData("approve", [to, MaxUint256]) });
      if (r.kind !== "sent") return;
    }
    const r = await responder.respond({ key: `appeal:${this.disputeId}:${round}`, purpose: "appeal", to, data: disputeManager.interface.encodeFunctionData("appeal", [this.disputeId]) });
    if (r.kind === "sent" && r.result.kind === "mined" && !r.result.reused) {
      this.#log.warn({ round, bond: params.appealBond.toString() }, "ruling appealed");
    }
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
    const to = await da.getAddress();
    const params = await da.params();
    if ((await stakingToken.allowance(me, to)) < params.chunkBond) {
      const r = await responder.respond({ key: `approve:${to}`, purpose: "approve-bonds", to: await stakingToken.getAddress(), data: stakingToken.interface.encodeFunctionData("approve", [to, MaxUint256]) });
      if (r.kind !== "sent") return;
    }
    const { index } = await loadJobMaterials(this.ctx, this.#jobId);
    const globalStep = BigInt(this.#interval * index.k + leafIndex);
    if (!(await da.stepLeaf(this.#jobId, globalStep)).known) {
      const p = stepProof(index, this.#interval, leafIndex);
      const r = await responder.respond({
        key: `prove-step-leaf:${this.#jobId}:${globalStep}`, purpose: "prove-step-leaves", to,
        data: da.interface.encodeFunctionData("proveStepLeaves", [this.#jobId, this.#interval, leafIndex, [p.stateHash], p.proof]),
      });
      if (r.kind !== "sent") return;
    }
    const r = await responder.respond({
      key: `chunk:${id}:${leafIndex}:${chunkIndex}`, purpose: "chunk-challenge", to,
      data: da.interface.encodeFunctionData("challengeStateChunk", [this.#jobId, id, this.#interval, leafIndex, chunkIndex]),
    });
    if (r.kind !== "sent" || r.result.kind !== "mined") return;
    const logs = await da.queryFilter(da.filters.ChallengeOpened(undefined, this.#jobId, id), r.result.blockNumber, r.result.blockNumber);
    for (const l of logs) if (l.args.opener.toLowerCase() === me.toLowerCase()) records.addChunkChallenge(id, l.args.challengeId);
    this.#log.warn({ leafIndex, chunkIndex, challenges: logs.length }, "chunk challenge opened: state not served");
  }
}
