/**
 * Chain-time fast-forward for the in-process demo: the protocol's windows are minutes to hours, so
 * once the participants have done what a phase expects (or a wall-clock grace has passed), the
 * keeper jumps block time to the phase's deadline. It never acts for anyone: every transaction is
 * the daemons'. Rules:
 *   - a committee voting: all drawn jurors committed → jump to commitEnd; all commits revealed →
 *     jump to revealEnd (grace: jump anyway);
 *   - a ruling: jump past appealEnd after the grace (nobody appeals in the demo);
 *   - a watched Submitted job: jump past windowEnd once every verifier's audit passed, or once the
 *     audits are done and every verifier whose audit failed has its own dispute open (v3: one per
 *     challenger; a failed audit without its dispute holds the window, up to the window grace);
 *   - while a committee awaits its draw nothing is jumped (its commit window opens any block);
 *   - a pinpoint deadline (with its extensions) and the answer deadline of an open
 *     DataAvailability challenge are never jumped over: somebody still has to meet them;
 *   - only the earliest pending deadline is jumped to, and only when its phase is done;
 *   - all reads of one tick are made at one block, so a dispute opened mid-tick is never half seen.
 */
import type { EIP1193Provider } from "hardhat/types";
import type { UPowContracts } from "../../../verifier/chain/registry";

const PHASE = { Pinpointing: 1n, AwaitingDraw: 2n, Voting: 3n, Ruled: 4n } as const;
const CHALLENGE_OPEN = 1n;
const SUBMITTED = 3n;

export interface TimeKeeperParameters {
  contracts: UPowContracts;
  provider: EIP1193Provider;
  /** Wall-clock ms a phase may stall before the keeper jumps anyway. */
  graceMs: number;
  /** Where the verifiers' audits of a job stand: how many finished, how many failed, of how many. */
  audits: (jobId: bigint) => { done: number; failed: number; total: number };
  /** Wall-clock ms after which a window whose audits still run is closed anyway. @default 10 × graceMs */
  windowGraceMs?: number;
  log: (line: string) => void;
}

export class TimeKeeper {
  private readonly firstSeen = new Map<string, number>();
  private readonly watched = new Set<bigint>();
  /** Challenges below this id are closed (skipped on later ticks). */
  private firstOpenChallenge = 1n;

  constructor(private readonly p: TimeKeeperParameters) {}

  watch(jobId: bigint): void {
    this.watched.add(jobId);
  }

  unwatch(jobId: bigint): void {
    this.watched.delete(jobId);
  }

  private stalled(key: string, graceMs = this.p.graceMs): boolean {
    const now = Date.now();
    const t = this.firstSeen.get(key);
    if (t === undefined) {
      this.firstSeen.set(key, now);
      return false;
    }
    return now - t > graceMs;
  }

  private async now(): Promise<bigint> {
    return (await this.head()).timestamp;
  }

  private async head(): Promise<{ number: number; timestamp: bigint }> {
    const b = (await this.p.provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as { number: string; timestamp: string };
    return { number: Number(BigInt(b.number)), timestamp: BigInt(b.timestamp) };
  }

  private async jumpTo(t: bigint, why: string): Promise<void> {
    const now = await this.now();
    if (t <= now) return;
    await this.p.provider.request({ method: "evm_setNextBlockTimestamp", params: [`0x${t.toString(16)}`] });
    await this.p.provider.request({ method: "evm_mine", params: [] });
    this.p.log(`⏩ chain time +${t - now}s: ${why}`);
  }

  /**
   * Every pending deadline with whether its phase is done. Only the earliest is ever jumped to, so a
   * jump never cuts short another dispute's or job's phase that is still running.
   */
  private async pending(head: { number: number; timestamp: bigint }): Promise<{ at: bigint; ready: boolean; why: string }[]> {
    const { disputeManager: dm, jobMarket: jm, dataAvailability: da } = this.p.contracts;
    const bt = { blockTag: head.number };
    const now = head.timestamp;
    const out: { at: bigint; ready: boolean; why: string }[] = [];
    const count = await dm.disputeCount(bt);
    for (let id = 1n; id <= count; id++) {
      const d = await dm.getDispute(id, bt);
      if (d.phase === PHASE.Pinpointing) {
        out.push({ at: await dm.pinpointDeadline(id, bt), ready: false, why: `dispute ${id}: pinpoint deadline` });
      } else if (d.phase === PHASE.AwaitingDraw) {
        // A committee is about to be drawn (blocks, not time): its commit window must not be
        // jumped over the moment it opens, so nothing is jumped until it is drawn.
        out.push({ at: now, ready: false, why: `dispute ${id}: committee draw` });
      } else if (d.phase === PHASE.Voting) {
        const r = await dm.getRound(id, d.round, bt);
        const jurors = BigInt(r.jurors.length);
        if (now <= d.commitEnd) {
          const ready = BigInt(r.commits) === jurors || this.stalled(`commit:${id}:${d.round}`);
          out.push({ at: d.commitEnd, ready, why: `dispute ${id} round ${d.round}: ${r.commits}/${jurors} votes committed, reveal phase` });
        } else {
          const ready = (r.commits > 0n && r.reveals === r.commits) || this.stalled(`reveal:${id}:${d.round}`);
          out.push({ at: d.revealEnd, ready, why: `dispute ${id} round ${d.round}: ${r.reveals}/${r.commits} votes revealed, voting over` });
        }
      } else if (d.phase === PHASE.Ruled) {
        out.push({ at: d.appealEnd, ready: this.stalled(`appeal:${id}:${d.round}`), why: `dispute ${id}: ruling given, appeal window over` });
      }
    }
    // Open availability challenges: the worker must answer before their deadline.
    const challenges = await da.challengeCount(bt);
    for (let id = this.firstOpenChallenge; id <= challenges; id++) {
      const c = await da.getChallenge(id, bt);
      if (c.status === CHALLENGE_OPEN) out.push({ at: c.deadline, ready: false, why: `availability challenge ${id}: answer deadline` });
      else if (id === this.firstOpenChallenge) this.firstOpenChallenge = id + 1n;
    }
    for (const jobId of this.watched) {
      const j = await jm.getJob(jobId, bt);
      if (j.status !== SUBMITTED) continue;
      // Every verifier whose audit failed may open its own dispute (v3): the window waits for all of
      // them; then the disputes run on past it. Passed audits let the window pass.
      const a = this.p.audits(jobId);
      let ready: boolean;
      if (a.done >= a.total && a.failed === 0) ready = true;
      else if (a.done >= a.total && j.openDisputes > 0n) {
        const opened = await dm.queryFilter(dm.filters.DisputeOpened(undefined, jobId), 0, head.number);
        ready = new Set(opened.map((e) => e.args.challenger)).size >= a.failed;
      } else ready = false;
      ready ||= this.stalled(`window:${jobId}`, this.p.windowGraceMs ?? 10 * this.p.graceMs);
      out.push({ at: j.windowEnd, ready, why: `job ${jobId}: audits done, challenge window over` });
    }
    return out;
  }

  async tick(): Promise<void> {
    const head = await this.head();
    const now = head.timestamp;
    const items = (await this.pending(head)).filter((x) => x.at >= now).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const first = items[0];
    if (first === undefined || !first.ready) return;
    // Something mined since the snapshot (a dispute, a draw, a challenge) may have a new deadline: look again next tick.
    if ((await this.head()).number !== head.number) return;
    await this.jumpTo(first.at + 1n, first.why);
  }
}
