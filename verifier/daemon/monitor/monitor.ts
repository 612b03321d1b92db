/**
 * New blocks → work (op-challenger's monitor). Reads the JobMarket and DisputeManager logs through
 * the chain layer's EventCursor (only blocks ≤ head − confirmations, persisted cursor, chunked
 * backfill after downtime), decoded by name through the shared EventRouter, and records which jobs
 * and disputes this node follows; the players pick them up. Returns the tick (block + timestamp)
 * all reads of this round are made at, which never moves backwards.
 */
import type { Provider } from "ethers";
import type { Logger } from "pino";
import type { DisputeManager, JobMarket } from "../../../typechain-types";
import { EventCursor } from "../../chain/events";
import { EventRouter } from "../../chain/eventRouter";
import type { KeyValueStore } from "../../chain/journal";
import type { UPowMetrics } from "../../chain/metrics";
import type { DaemonRecords } from "../records";
import type { Tick } from "../player/context";

export interface MonitorParameters {
  provider: Provider;
  kv: KeyValueStore;
  records: DaemonRecords;
  contracts: { jobMarket: JobMarket; disputeManager: DisputeManager };
  startBlock: number;
  confirmations: number;
  chunkSize?: number;
  logger: Logger;
  metrics?: UPowMetrics;
}

export class Monitor {
  readonly #cursor: EventCursor;
  readonly #p: MonitorParameters;

  constructor(p: MonitorParameters) {
    this.#p = p;
    const router = this.#routes();
    this.#cursor = new EventCursor({
      provider: p.provider,
      kv: p.kv,
      name: "verifier",
      filter: router.filter(),
      startBlock: p.startBlock,
      confirmations: p.confirmations,
      chunkSize: p.chunkSize,
      handler: (log) => router.handle(log),
      logger: p.logger.child({ component: "monitor" }),
    });
  }

  /** Deliver new logs; returns the tick to act at, or null when nothing has been scanned yet. */
  async poll(): Promise<Tick | null> {
    const r = await this.#cursor.poll();
    if (r.scannedTo < 0) return null;
    const block = await this.#p.provider.getBlock(r.scannedTo);
    if (block === null) return null;
    return { block: r.scannedTo, now: BigInt(block.timestamp) };
  }

  #routes(): EventRouter {
    const { records, logger, metrics } = this.#p;
    const { jobMarket: jm, disputeManager: dm } = this.#p.contracts;
    const followDispute = (disputeId: bigint, event: string): void => {
      if (records.followDispute(disputeId)) logger.info({ disputeId: String(disputeId), event }, "dispute: following");
    };
    return new EventRouter()
      .on(jm, jm.getEvent("JobCreated"), (a) => records.updateJobNote(a.jobId, { specURI: a.specURI }))
      .on(jm, jm.getEvent("ResultSubmitted"), (a, log) => {
        records.updateJobNote(a.jobId, { resultURI: a.resultURI });
        if (records.followJob(a.jobId)) {
          metrics?.jobsSeen.inc();
          logger.info({ jobId: String(a.jobId), block: log.blockNumber }, "job submitted: following");
        }
      })
      .on(dm, dm.getEvent("DisputeOpened"), (a) => followDispute(a.disputeId, "DisputeOpened"))
      .on(dm, dm.getEvent("CommitteeDrawn"), (a) => followDispute(a.disputeId, "CommitteeDrawn"))
      .on(dm, dm.getEvent("DisputeReopened"), (a) => {
        // A voided dispute's interval under a new id (v3 V2.3): followed like the old one (its
        // DisputeOpened comes too); the challenger's located step carries over, no second replay.
        const located = records.locate(a.voidedDisputeId);
        if (located !== undefined && records.locate(a.disputeId) === undefined) records.putLocate(a.disputeId, located);
        if (records.followDispute(a.disputeId))
          logger.info({ disputeId: String(a.disputeId), voided: String(a.voidedDisputeId) }, "reopened dispute: following");
      });
  }
}
