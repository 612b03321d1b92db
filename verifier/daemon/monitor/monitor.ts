/**
 * New blocks → work (op-challenger's monitor). Reads the JobMarket, AuditManager and
 * DisputeManager logs through the chain layer's EventCursor (only blocks ≤ head − confirmations,
 * persisted cursor, chunked backfill after downtime) and records which jobs and disputes this node
 * follows; the players pick them up. Returns the tick (block + timestamp) all reads of this round
 * are made at, which never moves backwards.
 */
import type { Interface, Log, Provider } from "ethers";
import type { Logger } from "pino";
import { EventCursor } from "../../chain/events";
import type { KeyValueStore } from "../../chain/journal";
import type { UPowMetrics } from "../../chain/metrics";
import type { DaemonRecords } from "../records";
import type { Tick } from "../player/context";

export interface MonitorParameters {
  provider: Provider;
  kv: KeyValueStore;
  records: DaemonRecords;
  addresses: { jobMarket: string; auditManager: string; disputeManager: string };
  interfaces: { jobMarket: Interface; auditManager: Interface; disputeManager: Interface };
  startBlock: number;
  confirmations: number;
  chunkSize?: number;
  logger: Logger;
  metrics?: UPowMetrics;
}

export class Monitor {
  readonly #cursor: EventCursor;
  readonly #p: MonitorParameters;
  readonly #byAddress: Map<string, Interface>;

  constructor(p: MonitorParameters) {
    this.#p = p;
    this.#byAddress = new Map([
      [p.addresses.jobMarket.toLowerCase(), p.interfaces.jobMarket],
      [p.addresses.auditManager.toLowerCase(), p.interfaces.auditManager],
      [p.addresses.disputeManager.toLowerCase(), p.interfaces.disputeManager],
    ]);
    this.#cursor = new EventCursor({
      provider: p.provider,
      kv: p.kv,
      name: "verifier",
      filter: { address: [p.addresses.jobMarket, p.addresses.auditManager, p.addresses.disputeManager] },
      startBlock: p.startBlock,
      confirmations: p.confirmations,
      chunkSize: p.chunkSize,
      handler: (log) => this.#handle(log),
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

  #handle(log: Log): void {
    const iface = this.#byAddress.get(log.address.toLowerCase());
    const parsed = iface?.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) return;
    const { records } = this.#p;
    const a = parsed.args;
    switch (parsed.name) {
      case "JobCreated":
        records.updateJobNote(a.jobId as bigint, { specURI: a.specURI as string });
        return;
      case "ResultSubmitted":
        records.updateJobNote(a.jobId as bigint, { resultURI: a.resultURI as string });
        if (records.followJob(a.jobId as bigint)) {
          this.#p.metrics?.jobsSeen.inc();
          this.#p.logger.info({ jobId: String(a.jobId), block: log.blockNumber }, "job submitted: following");
        }
        return;
      case "DisputeOpened":
      case "CommitteeDrawn":
        if (records.followDispute(a.disputeId as bigint)) {
          this.#p.logger.info({ disputeId: String(a.disputeId), event: parsed.name }, "dispute: following");
        }
        return;
      case "DisputeReopened": {
        // A voided dispute's interval under a new id (v3 V2.3): followed like the old one (its
        // DisputeOpened comes too); the challenger's located step carries over, no second replay.
        const id = a.disputeId as bigint;
        const voided = a.voidedDisputeId as bigint;
        const located = records.locate(voided);
        if (located !== undefined && records.locate(id) === undefined) records.putLocate(id, located);
        if (records.followDispute(id)) this.#p.logger.info({ disputeId: String(id), voided: String(voided) }, "reopened dispute: following");
        return;
      }
      default:
        return;
    }
  }
}
