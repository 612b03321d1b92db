/**
 * The monitor: event cursors (persisted, with confirmations) over JobMarket.JobCreated and the
 * DisputeManager's DisputeOpened and DataAvailability.ChallengeOpened, feeding the durable WorkerState queues.
 * Handlers only record; acting on records is the service loop's job, so a crash between the two
 * loses nothing.
 */
import type { Interface, Log, Provider } from "ethers";
import type { Logger } from "pino";
import { EventCursor } from "../chain/events";
import type { KeyValueStore } from "../chain/journal";
import type { ChallengeKind, WorkerState } from "./workerState";

/** IDataAvailability.Kind by index (0 = None). */
const KINDS: readonly (ChallengeKind | undefined)[] = [undefined, "checkpoints", "step-leaves", "state-chunk", "batch-chunk"];

export interface MonitorParameters {
  readonly provider: Provider;
  readonly kv: KeyValueStore;
  readonly state: WorkerState;
  readonly jobMarket: { address: string; iface: Interface };
  readonly disputeManager: { address: string; iface: Interface } | null;
  readonly dataAvailability: { address: string; iface: Interface } | null;
  /** Is this job one of ours (claimed by this worker)? */
  readonly isOurJob: (jobId: bigint) => boolean;
  readonly startBlock: number;
  readonly confirmations: number;
  readonly logger: Logger;
}

export class Monitor {
  private readonly cursors: EventCursor[] = [];

  constructor(private readonly p: MonitorParameters) {
    const jm = p.jobMarket;
    this.cursors.push(this.cursor("worker-job-created", jm.address, jm.iface.getEvent("JobCreated")!.topicHash, (log) => {
      const ev = jm.iface.parseLog(log)!;
      const jobId = ev.args[0] as bigint;
      if (p.state.job(jobId)) return;
      p.state.putJob({ jobId: jobId.toString(), phase: "candidate", specURI: ev.args[7] as string });
      p.logger.info({ jobId: jobId.toString() }, "job seen");
    }));
    const dm = p.disputeManager;
    if (dm) {
      this.cursors.push(this.cursor("worker-dispute-opened", dm.address, dm.iface.getEvent("DisputeOpened")!.topicHash, (log) => {
        const ev = dm.iface.parseLog(log)!;
        const disputeId = ev.args[0] as bigint;
        const jobId = ev.args[1] as bigint;
        if (!p.isOurJob(jobId) || p.state.dispute(disputeId.toString())) return;
        p.state.putDispute({ disputeId: disputeId.toString(), jobId: jobId.toString(), interval: Number(ev.args[2] as bigint), served: false });
        p.logger.warn({ jobId: jobId.toString(), disputeId: disputeId.toString(), interval: Number(ev.args[2] as bigint) }, "dispute opened against our job");
      }));
    }
    const da = p.dataAvailability;
    if (da) {
      this.cursors.push(this.cursor("worker-da-challenge-opened", da.address, da.iface.getEvent("ChallengeOpened")!.topicHash, (log) => {
        const ev = da.iface.parseLog(log)!;
        const challengeId = (ev.args[0] as bigint).toString();
        const jobId = ev.args[1] as bigint;
        if (!p.isOurJob(jobId) || p.state.chunk(challengeId)) return;
        const kind = KINDS[Number(ev.args[4] as bigint)];
        if (!kind) return;
        const first = Number(ev.args[6] as bigint);
        const count = Number(ev.args[7] as bigint);
        const chunk = kind === "state-chunk" || kind === "batch-chunk";
        p.state.putChunk({
          challengeId, jobId: jobId.toString(), disputeId: (ev.args[2] as bigint).toString(), kind, interval: Number(ev.args[5] as bigint),
          first, count, fileHash: ev.args[8] as string, chunkIndex: chunk ? first : 0, batch: kind === "batch-chunk",
          deadline: Number(ev.args[9] as bigint), done: false,
        });
        p.logger.warn({ challengeId, jobId: jobId.toString(), kind }, "availability challenge seen");
      }));
    }
  }

  private cursor(name: string, address: string, topic: string, handler: (log: Log) => void): EventCursor {
    return new EventCursor({
      provider: this.p.provider, kv: this.p.kv, name, filter: { address, topics: [topic] }, startBlock: this.p.startBlock,
      confirmations: this.p.confirmations, handler, logger: this.p.logger,
    });
  }

  /** One poll of every cursor; a failing cursor is logged and retried next time. */
  async poll(): Promise<void> {
    for (const c of this.cursors) {
      try {
        await c.poll();
      } catch (err) {
        this.p.logger.warn({ err }, "event poll failed; retrying next tick");
      }
    }
  }
}
