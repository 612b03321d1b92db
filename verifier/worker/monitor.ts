/**
 * The monitor: event cursors (persisted, with confirmations) over JobMarket.JobCreated and the
 * DisputeManager's DisputeOpened / ChunkChallenged, feeding the durable WorkerState queues.
 * Handlers only record; acting on records is the service loop's job, so a crash between the two
 * loses nothing.
 */
import type { Interface, Log, Provider } from "ethers";
import type { Logger } from "pino";
import { EventCursor } from "../chain/events";
import type { KeyValueStore } from "../chain/journal";
import type { WorkerState } from "./workerState";

export interface MonitorParameters {
  readonly provider: Provider;
  readonly kv: KeyValueStore;
  readonly state: WorkerState;
  readonly jobMarket: { address: string; iface: Interface };
  readonly disputeManager: { address: string; iface: Interface } | null;
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
      this.cursors.push(this.cursor("worker-chunk-challenged", dm.address, dm.iface.getEvent("ChunkChallenged")!.topicHash, (log) => {
        const ev = dm.iface.parseLog(log)!;
        const challengeId = (ev.args[0] as bigint).toString();
        if (p.state.chunk(challengeId)) return;
        // Recorded for every dispute; the loop drops those that are not about our jobs.
        p.state.putChunk({
          challengeId, disputeId: (ev.args[1] as bigint).toString(), fileHash: ev.args[3] as string,
          chunkIndex: Number(ev.args[4] as bigint), batch: ev.args[5] as boolean, deadline: Number(ev.args[6] as bigint), done: false,
        });
        p.logger.warn({ challengeId, disputeId: (ev.args[1] as bigint).toString() }, "chunk challenge seen");
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
