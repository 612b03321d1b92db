/**
 * Chain-time fast-forward for the in-process demo: the protocol's windows are minutes to hours, so
 * once the participants have done what a phase expects (or a wall-clock grace has passed), the
 * keeper jumps block time to the phase's deadline. It never acts for anyone: every transaction is
 * the daemons'. Rules:
 *   - a committee voting: all drawn jurors committed → jump to commitEnd; all commits revealed →
 *     jump to revealEnd (grace: jump anyway);
 *   - a ruling: jump past appealEnd after the grace (nobody appeals in the demo);
 *   - a watched Submitted job: jump past windowEnd once every verifier's audit passed or a dispute
 *     is open (a failed audit without a dispute holds the window);
 *   - a pinpoint deadline is never jumped over;
 *   - only the earliest pending deadline is jumped to, and only when its phase is done.
 */
import type { EIP1193Provider } from "hardhat/types";
import type { UPowContracts } from "../../../verifier/chain/registry";

const PHASE = { Pinpointing: 1n, Voting: 3n, Ruled: 4n } as const;
const SUBMITTED = 3n;

export interface TimeKeeperParameters {
  contracts: UPowContracts;
  provider: EIP1193Provider;
  /** Wall-clock ms a phase may stall before the keeper jumps anyway. */
  graceMs: number;
  /** Where the verifiers' audits of a job stand: all passed, some failed, or still running. */
  audits: (jobId: bigint) => "passed" | "failed" | "running";
  /** Wall-clock ms after which a window whose audits still run is closed anyway. @default 10 × graceMs */
  windowGraceMs?: number;
  log: (line: string) => void;
}

export class TimeKeeper {
  private readonly firstSeen = new Map<string, number>();
  private readonly watched = new Set<bigint>();

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
    const b = (await this.p.provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as { timestamp: string };
    return BigInt(b.timestamp);
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
  private async pending(): Promise<{ at: bigint; ready: boolean; why: string }[]> {
    const { disputeManager: dm, jobMarket: jm } = this.p.contracts;
    const out: { at: bigint; ready: boolean; why: string }[] = [];
    const count = await dm.disputeCount();
    for (let id = 1n; id <= count; id++) {
      const d = await dm.getDispute(id);
      const now = await this.now();
      if (d.phase === PHASE.Pinpointing) {
        out.push({ at: d.deadline, ready: false, why: `dispute ${id}: pinpoint deadline` });
      } else if (d.phase === PHASE.Voting) {
        const r = await dm.getRound(id, d.round);
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
    for (const jobId of this.watched) {
      const j = await jm.getJob(jobId);
      if (j.status !== SUBMITTED) continue;
      // With a dispute open the window may pass: the dispute runs on, and further audits are optional.
      // A failed audit holds the window until its dispute is open.
      const audits = this.p.audits(jobId);
      const ready = j.openDisputes > 0n || audits === "passed"
        || (audits === "running" && this.stalled(`window:${jobId}`, this.p.windowGraceMs ?? 10 * this.p.graceMs));
      out.push({ at: j.windowEnd, ready, why: `job ${jobId}: audits done, challenge window over` });
    }
    return out;
  }

  async tick(): Promise<void> {
    const now = await this.now();
    const items = (await this.pending()).filter((x) => x.at >= now).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const first = items[0];
    if (first !== undefined && first.ready) await this.jumpTo(first.at + 1n, first.why);
  }
}
