/**
 * The worker's durable memory, in the journal's key-value table (same SQLite file as the
 * transaction intents): one record per job it has looked at, plus queues of disputes and data-availability
 * challenges seen. Every decision is written here before any transaction that acts on it.
 */
import type { KeyValueStore } from "../chain/journal";
import type { RejectReason } from "./decider";

export type JobPhase =
  | "candidate" // seen Open, not decided yet
  | "declined" // decided not to take it (reason kept); off chain, unlike the on-chain Rejected
  | "dry-run" // would have claimed (dry run)
  | "accepted" // decided to claim; claim intent journaled
  | "claimed" // claim mined: train
  | "submitted" // result submitted
  | "finalized" // paid (credit)
  | "withdrawn" // credit withdrawn
  | "lost" // claimed by someone else, expired, or rejected on chain
  | "abandoned"; // could not finish before the deadline

export interface JobRecord {
  readonly jobId: string;
  readonly phase: JobPhase;
  readonly specURI: string;
  readonly reason?: RejectReason | string;
  readonly message?: string;
  readonly indexAddress?: string;
  readonly paymentToken?: string;
  readonly updatedAt: number;
}

/** What a DataAvailability challenge asks of the worker (IDataAvailability.Kind). */
export type ChallengeKind = "checkpoints" | "step-leaves" | "state-chunk" | "batch-chunk";

/** A DataAvailability challenge addressed to one of our jobs (demand for leaves or a chunk). */
export interface ChunkRecord {
  readonly challengeId: string;
  readonly jobId: string;
  readonly disputeId: string;
  readonly kind: ChallengeKind;
  /** Checkpoints, StepLeaves, StateChunk: the interval. */
  readonly interval: number;
  /** StepLeaves: first leaf and count. */
  readonly first: number;
  readonly count: number;
  /** Chunks: the state or batch file hash and the chunk index. */
  readonly fileHash: string;
  readonly chunkIndex: number;
  readonly batch: boolean;
  readonly deadline: number;
  readonly done: boolean;
  readonly outcome?: string;
}

export interface DisputeRecord {
  readonly disputeId: string;
  readonly jobId: string;
  readonly interval: number;
  readonly served: boolean;
}

const JOBS = "worker:jobs";
const DISPUTES = "worker:disputes";
const CHUNKS = "worker:chunks";

export class WorkerState {
  constructor(private readonly kv: KeyValueStore) {}

  private list(key: string): string[] {
    const v = this.kv.get(key);
    return v ? (JSON.parse(v) as string[]) : [];
  }

  private add(key: string, id: string): void {
    const l = this.list(key);
    if (!l.includes(id)) this.kv.put(key, JSON.stringify([...l, id]));
  }

  job(jobId: bigint | string): JobRecord | undefined {
    const v = this.kv.get(`worker:job:${jobId}`);
    if (!v) return undefined;
    const r = JSON.parse(v) as JobRecord | (Omit<JobRecord, "phase"> & { phase: "rejected" });
    // Journals written before "declined" was named so call it "rejected".
    return r.phase === "rejected" ? { ...r, phase: "declined" } : r;
  }

  putJob(r: Omit<JobRecord, "updatedAt">): JobRecord {
    const rec = { ...r, updatedAt: Date.now() };
    this.kv.put(`worker:job:${r.jobId}`, JSON.stringify(rec));
    this.add(JOBS, r.jobId);
    return rec;
  }

  jobs(): JobRecord[] {
    return this.list(JOBS)
      .map((id) => this.job(id)!)
      .filter(Boolean);
  }

  dispute(id: string): DisputeRecord | undefined {
    const v = this.kv.get(`worker:dispute:${id}`);
    return v ? (JSON.parse(v) as DisputeRecord) : undefined;
  }

  putDispute(r: DisputeRecord): void {
    this.kv.put(`worker:dispute:${r.disputeId}`, JSON.stringify(r));
    this.add(DISPUTES, r.disputeId);
  }

  disputes(): DisputeRecord[] {
    return this.list(DISPUTES)
      .map((id) => this.dispute(id)!)
      .filter(Boolean);
  }

  chunk(id: string): ChunkRecord | undefined {
    const v = this.kv.get(`worker:chunk:${id}`);
    return v ? (JSON.parse(v) as ChunkRecord) : undefined;
  }

  putChunk(r: ChunkRecord): void {
    this.kv.put(`worker:chunk:${r.challengeId}`, JSON.stringify(r));
    this.add(CHUNKS, r.challengeId);
  }

  chunks(): ChunkRecord[] {
    return this.list(CHUNKS)
      .map((id) => this.chunk(id)!)
      .filter(Boolean);
  }
}
