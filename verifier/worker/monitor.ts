/**
 * The monitor: event cursors (persisted, with confirmations) over JobMarket.JobCreated and the
 * DisputeManager's DisputeOpened and DataAvailability.ChallengeOpened, feeding the durable WorkerState queues.
 * Handlers only record; acting on records is the service loop's job, so a crash between the two
 * loses nothing. Events are decoded by name through the shared EventRouter (chain/eventRouter.ts).
 */
import type { Provider } from "ethers";
import type { Logger } from "pino";
import type { DataAvailability, DisputeManager, JobMarket } from "../../typechain-types";
import { EventCursor } from "../chain/events";
import { EventRouter } from "../chain/eventRouter";
import type { KeyValueStore } from "../chain/journal";
import type { ChallengeKind, WorkerState } from "./workerState";

/** IDataAvailability.Kind by index (0 = None). */
const KINDS: readonly (ChallengeKind | undefined)[] = [undefined, "checkpoints", "step-leaves", "state-chunk", "batch-chunk"];

export interface MonitorParameters {
  readonly provider: Provider;
  readonly kv: KeyValueStore;
  readonly state: WorkerState;
  readonly jobMarket: JobMarket;
  readonly disputeManager: DisputeManager | null;
  readonly dataAvailability: DataAvailability | null;
  /** Is this job one of ours (claimed by this worker)? */
  readonly isOurJob: (jobId: bigint) => boolean;
  readonly startBlock: number;
  readonly confirmations: number;
  readonly logger: Logger;
}

export class Monitor {
  private readonly cursors: EventCursor[] = [];

  constructor(private readonly p: MonitorParameters) {
    // One cursor per event: their names are persisted positions in the journal, kept across versions.
    const jm = p.jobMarket;
    this.cursors.push(
      this.cursor(
        "worker-job-created",
        new EventRouter().on(jm, jm.getEvent("JobCreated"), (a) => {
          if (p.state.job(a.jobId)) return;
          p.state.putJob({ jobId: a.jobId.toString(), phase: "candidate", specURI: a.specURI });
          p.logger.info({ jobId: a.jobId.toString() }, "job seen");
        }),
      ),
    );
    const dm = p.disputeManager;
    if (dm) {
      this.cursors.push(
        this.cursor(
          "worker-dispute-opened",
          new EventRouter().on(dm, dm.getEvent("DisputeOpened"), (a) => {
            const disputeId = a.disputeId.toString();
            if (!p.isOurJob(a.jobId) || p.state.dispute(disputeId)) return;
            const interval = Number(a.interval);
            p.state.putDispute({ disputeId, jobId: a.jobId.toString(), interval, served: false });
            p.logger.warn({ jobId: a.jobId.toString(), disputeId, interval }, "dispute opened against our job");
          }),
        ),
      );
    }
    const da = p.dataAvailability;
    if (da) {
      this.cursors.push(
        this.cursor(
          "worker-da-challenge-opened",
          new EventRouter().on(da, da.getEvent("ChallengeOpened"), (a) => {
            const challengeId = a.challengeId.toString();
            if (!p.isOurJob(a.jobId) || p.state.chunk(challengeId)) return;
            const kind = KINDS[Number(a.kind)];
            if (!kind) return;
            const first = Number(a.first);
            const chunk = kind === "state-chunk" || kind === "batch-chunk";
            p.state.putChunk({
              challengeId,
              jobId: a.jobId.toString(),
              disputeId: a.disputeId.toString(),
              kind,
              interval: Number(a.interval),
              first,
              count: Number(a.count),
              fileHash: a.fileHash,
              chunkIndex: chunk ? first : 0,
              batch: kind === "batch-chunk",
              deadline: Number(a.deadline),
              done: false,
            });
            p.logger.warn({ challengeId, jobId: a.jobId.toString(), kind }, "availability challenge seen");
          }),
        ),
      );
    }
  }

  private cursor(name: string, router: EventRouter): EventCursor {
    return new EventCursor({
      provider: this.p.provider,
      kv: this.p.kv,
      name,
      filter: router.filter(),
      startBlock: this.p.startBlock,
      confirmations: this.p.confirmations,
      handler: (log) => router.handle(log),
      logger: this.p.logger,
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
