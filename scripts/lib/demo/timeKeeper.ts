/**
 * Chain-time fast-forward for local chains (the in-process demo and `upow:fast-forward`): the
 * protocol's windows are minutes to hours, so once the participants have done what a phase expects
 * (or a wall-clock grace has passed), the keeper jumps block time to the phase's deadline. It
 * never acts for anyone: every transaction is the daemons'. Rules:
 *   - a committee voting: all drawn jurors committed → jump to commitEnd; all commits revealed →
 *     jump to revealEnd (grace: jump anyway);
 *   - a ruling: jump past appealEnd after the appeal grace (nobody appeals on a local chain);
 *   - a Submitted job's challenge window: jumped only when its WindowRule says nobody needs it any
 *     more (the demo's rule reads the verifiers' logs, windowRules.ts has the on-chain one);
 *   - while a committee awaits its draw nothing is jumped (its commit window opens any block),
 *     unless the draw waits for a later epoch: then nobody has anything to do until that epoch;
 *   - a pinpoint deadline (with its extensions) and the answer deadline of an open
 *     DataAvailability challenge are never jumped over: somebody still has to meet them;
 *   - optionally, a queued juror reserve change is applied by jumping to the next epoch, only
 *     when nothing else at all is pending (a job in its window or a dispute keeps the epoch);
 *   - only the earliest pending deadline is jumped to, and only when its phase is done, and so is
 *     every other phase ending within `minLeftSec` after it: a jump must not leave a phase still
 *     running only seconds to finish in (five committees drawn in five blocks end five seconds
 *     apart; jumping to the first one's end starved the jurors of the other four);
 *   - all reads of one tick are made at one block, so a dispute opened mid-tick is never half seen;
 *     when a protocol contract emitted anything since, the tick jumps nothing (look again).
 */
import type { EIP1193Provider } from "hardhat/types";
import type { UPowContracts } from "../../../verifier/chain/registry";
import { ChallengeStatus, JobStatus, Phase } from "../../../verifier/protocol/enums";

export interface Head {
  number: number;
  timestamp: bigint;
}

/** One dispute as a tick read it (every phase, Closed included). */
export interface DisputeFact {
  id: bigint;
  jobId: bigint;
  challenger: string;
  /** Phase value (protocol/enums.ts). */
  phase: number;
}

/** A Submitted job whose challenge window is pending. */
export interface WindowJob {
  jobId: bigint;
  windowEnd: bigint;
  submittedBlock: bigint;
  openDisputes: bigint;
}

/** What one tick knows, all read at `head`. */
export interface TickFacts {
  head: Head;
  /** The job's disputes (any phase), in id order. */
  disputesOf(jobId: bigint): readonly DisputeFact[];
  /** Wall clock: true once `key` was first asked about more than `ms` ago (the first ask starts it). */
  heldFor(key: string, ms: number): boolean;
}

export interface WindowVerdict {
  ready: boolean;
  /** What the window waits for (not ready) or why it may pass (ready). */
  why: string;
}

/** Whether a Submitted job's challenge window may be jumped over now. */
export type WindowRule = (job: WindowJob, facts: TickFacts) => Promise<WindowVerdict>;

export interface TimeKeeperParameters {
  contracts: UPowContracts;
  provider: EIP1193Provider;
  /** Wall-clock ms a vote phase may stall before the keeper jumps anyway: long enough for a slow
   *  or restarted juror on a loaded machine to commit or reveal (it is only waited for when a juror
   *  has not acted yet). */
  graceMs: number;
  /** Chain seconds a phase that is not done yet must still have left after a jump to an earlier
   *  deadline; nearer than that, the jump waits for it too. @default graceMs in seconds */
  minLeftSec?: number;
  /** Wall-clock ms a ruling's appeal window is kept before it is jumped (nobody appeals on a local
   *  chain; every ruling waits this long). @default graceMs */
  appealGraceMs?: number;
  window: WindowRule;
  /** "watched": only jobs given to watch() (the demo); "all": every Submitted job. @default "watched" */
  jobs?: "watched" | "all";
  /** Jump to the next epoch when a juror reserve change is queued and nothing else is pending. @default false */
  epochs?: boolean;
  log: (line: string) => void;
  /** Also log what the keeper waits for, each time that changes. @default false */
  logWaits?: boolean;
}

interface Pending {
  at: bigint;
  ready: boolean;
  why: string;
}

export class TimeKeeper {
  private readonly firstSeen = new Map<string, number>();
  private readonly watched = new Set<bigint>();
  /** Challenges below this id are closed (skipped on later ticks). */
  private firstOpenChallenge = 1n;
  /** Jobs below this id are over (Finalized, Rejected or Cancelled): "all" mode skips them. */
  private firstLiveJob = 1n;
  private lastWait = "";

  constructor(private readonly p: TimeKeeperParameters) {}

  watch(jobId: bigint): void {
    this.watched.add(jobId);
  }

  unwatch(jobId: bigint): void {
    this.watched.delete(jobId);
  }

  private heldFor(key: string, ms: number): boolean {
    const now = Date.now();
    const t = this.firstSeen.get(key);
    if (t === undefined) {
      this.firstSeen.set(key, now);
      return ms <= 0;
    }
    return now - t > ms;
  }

  private async head(): Promise<Head> {
    const b = (await this.p.provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as {
      number: string;
      timestamp: string;
    };
    return { number: Number(BigInt(b.number)), timestamp: BigInt(b.timestamp) };
  }

  private async jumpTo(t: bigint, why: string): Promise<void> {
    const now = (await this.head()).timestamp;
    if (t <= now) return;
    await this.p.provider.request({ method: "evm_setNextBlockTimestamp", params: [`0x${t.toString(16)}`] });
    await this.p.provider.request({ method: "evm_mine", params: [] });
    this.p.log(`⏩ chain time +${t - now}s: ${why}`);
  }

  /** Jobs whose windows this tick considers. */
  private async jobIds(bt: { blockTag: number }): Promise<bigint[]> {
    if ((this.p.jobs ?? "watched") === "watched") return [...this.watched];
    const jm = this.p.contracts.jobMarket;
    const next = await jm.nextJobId(bt);
    const out: bigint[] = [];
    for (let id = this.firstLiveJob; id < next; id++) out.push(id);
    return out;
  }

  /**
   * Every pending deadline with whether its phase is done. Only the earliest is ever jumped to, so a
   * jump never cuts short another dispute's or job's phase that is still running.
   */
  private async pending(head: Head): Promise<Pending[]> {
    const { disputeManager: dm, jobMarket: jm, dataAvailability: da, auditManager: am, stakeManager: sm } = this.p.contracts;
    const bt = { blockTag: head.number };
    const now = head.timestamp;
    const out: Pending[] = [];
    const byJob = new Map<bigint, DisputeFact[]>();
    const epoch = await sm.currentEpoch(bt);
    const count = await dm.disputeCount(bt);
    for (let id = 1n; id <= count; id++) {
      const d = await dm.getDispute(id, bt);
      const phase = Number(d.phase);
      const list = byJob.get(d.jobId) ?? [];
      list.push({ id, jobId: d.jobId, challenger: d.challenger, phase });
      byJob.set(d.jobId, list);
      if (phase === Phase.Pinpointing) {
        out.push({ at: await dm.pinpointDeadline(id, bt), ready: false, why: `dispute ${id}: pinpoint deadline` });
      } else if (phase === Phase.AwaitingDraw) {
        // A committee is about to be drawn (blocks, not time): its commit window must not be
        // jumped over the moment it opens, so nothing is jumped until it is drawn. A draw that
        // waits for a later epoch (v3 V3.2) has nothing to wait for before that epoch.
        if (d.randomnessBlock === 0n && d.drawEpoch > epoch)
          out.push({
            at: (await sm.epochStart(d.drawEpoch, bt)) - 1n,
            ready: true,
            why: `dispute ${id}: committee draw in epoch ${d.drawEpoch}`,
          });
        else out.push({ at: now, ready: false, why: `dispute ${id}: committee draw` });
      } else if (phase === Phase.Voting) {
        const r = await dm.getRound(id, d.round, bt);
        const jurors = BigInt(r.jurors.length);
        if (now <= d.commitEnd) {
          const ready = BigInt(r.commits) === jurors || this.heldFor(`commit:${id}:${d.round}`, this.p.graceMs);
          out.push({ at: d.commitEnd, ready, why: `dispute ${id} round ${d.round}: ${r.commits}/${jurors} votes committed, reveal phase` });
        } else {
          const ready = (r.commits > 0n && r.reveals === r.commits) || this.heldFor(`reveal:${id}:${d.round}`, this.p.graceMs);
          out.push({
            at: d.revealEnd,
            ready,
            why: `dispute ${id} round ${d.round}: ${r.reveals}/${r.commits} votes revealed, voting over`,
          });
        }
      } else if (phase === Phase.Ruled) {
        out.push({
          at: d.appealEnd,
          ready: this.heldFor(`appeal:${id}:${d.round}`, this.p.appealGraceMs ?? this.p.graceMs),
          why: `dispute ${id}: ruling given, appeal window over`,
        });
      }
    }
    // Open availability challenges: the worker must answer before their deadline.
    const challenges = await da.challengeCount(bt);
    for (let id = this.firstOpenChallenge; id <= challenges; id++) {
      const c = await da.getChallenge(id, bt);
      if (Number(c.status) === ChallengeStatus.Open)
        out.push({ at: c.deadline, ready: false, why: `availability challenge ${id}: answer deadline` });
      else if (id === this.firstOpenChallenge) this.firstOpenChallenge = id + 1n;
    }
    const facts: TickFacts = {
      head,
      disputesOf: (jobId) => byJob.get(jobId) ?? [],
      heldFor: (key, ms) => this.heldFor(key, ms),
    };
    let inFlight = false;
    for (const jobId of await this.jobIds(bt)) {
      const j = await jm.getJob(jobId, bt);
      const status = Number(j.status);
      if (status > JobStatus.Submitted && jobId === this.firstLiveJob) this.firstLiveJob = jobId + 1n;
      if (status !== JobStatus.Submitted) continue;
      inFlight = true;
      const a = await am.getAudit(jobId, bt);
      // The auditor draw waits for a later epoch: nothing happens to the job before it.
      if (!a.drawn && a.drawTarget === 0n && a.drawEpoch > epoch)
        out.push({
          at: (await sm.epochStart(a.drawEpoch, bt)) - 1n,
          ready: true,
          why: `job ${jobId}: auditor draw in epoch ${a.drawEpoch}`,
        });
      const v = await this.p.window(
        { jobId, windowEnd: j.windowEnd, submittedBlock: j.submittedBlock, openDisputes: j.openDisputes },
        facts,
      );
      out.push({ at: j.windowEnd, ready: v.ready, why: `job ${jobId}: challenge window over (${v.why})` });
    }
    // Reserves queued for the next epoch weigh only from it: skip there when nothing else is pending.
    if (this.p.epochs === true && out.length === 0 && !inFlight && (await sm.queueLength(bt)) > 0n && (await sm.queueSettled(bt))) {
      out.push({ at: (await sm.epochStart(epoch + 1n, bt)) - 1n, ready: true, why: `juror reserves queued for epoch ${epoch + 1n}` });
    }
    return out;
  }

  async tick(): Promise<void> {
    const head = await this.head();
    const now = head.timestamp;
    const items = (await this.pending(head)).filter((x) => x.at >= now).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    // A jump to the earliest deadline passes every item due at that same second and leaves those due
    // soon after it too little time: all of them must be done.
    const minLeft = BigInt(this.p.minLeftSec ?? Math.ceil(this.p.graceMs / 1000));
    const first = items.find((x) => !x.ready && items[0] !== undefined && x.at <= items[0].at + minLeft) ?? items[0];
    if (first === undefined || !first.ready) {
      const wait = first === undefined ? "" : `⏸ waiting: ${first.why}`;
      if (this.p.logWaits === true && wait !== this.lastWait && wait !== "") this.p.log(wait);
      this.lastWait = wait;
      return;
    }
    this.lastWait = "";
    // Something mined since the snapshot (a dispute, a draw, a challenge) may have a new deadline: look again next tick.
    if (await this.changedSince(head)) return;
    await this.jumpTo(first.at + 1n, first.why);
  }

  /**
   * Whether a protocol contract emitted anything after `head`. Empty blocks do not count: on an
   * interval-mining node a block comes every second, and a tick may take longer than that.
   */
  private async changedSince(head: Head): Promise<boolean> {
    const latest = await this.head();
    if (latest.number === head.number) return false;
    const c = this.p.contracts;
    const address = await Promise.all(
      [c.jobMarket, c.auditManager, c.disputeManager, c.dataAvailability, c.stakeManager].map((x) => x.getAddress()),
    );
    const logs = (await this.p.provider.request({
      method: "eth_getLogs",
      params: [{ fromBlock: `0x${(head.number + 1).toString(16)}`, toBlock: `0x${latest.number.toString(16)}`, address }],
    })) as unknown[];
    return logs.length > 0;
  }
}
