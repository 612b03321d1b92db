/**
 * This node's durable records in the journal's key-value table: audit outcomes, challenge salts,
 * juror votes, locate results, chunk challenges and the sets of jobs and disputes it follows.
 * Every `put` is on disk when it returns (Journal: WAL + synchronous=FULL), which is what makes
 * "persist (vote, salt) before sending the commit" hold across a crash.
 */
import type { KeyValueStore } from "../chain/journal";
import type { UnreachableRecord } from "./check/audit";
import { VoteRecordError } from "./errors";
import type { AuditOutcome, ChallengeRecord, LocateOutcome, VoteRecord } from "./solver/types";

export interface JobNote {
  specURI?: string;
  resultURI?: string;
}

const replacer = (_k: string, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v);
const reviver = (_k: string, v: unknown) =>
  v !== null && typeof v === "object" && typeof (v as { $bigint?: unknown }).$bigint === "string"
    ? BigInt((v as { $bigint: string }).$bigint)
    : v;

export class DaemonRecords {
  constructor(private readonly kv: KeyValueStore) {}

  #get<T>(key: string): T | undefined {
    const s = this.kv.get(key);
    if (s === undefined) return undefined;
    try {
      return JSON.parse(s, reviver) as T;
    } catch (cause) {
      throw new VoteRecordError("stored record is corrupt", { cause, details: { key } });
    }
  }

  #put(key: string, value: unknown): void {
    this.kv.put(key, JSON.stringify(value, replacer));
  }

  // ---- followed jobs and disputes
  #set(name: string): Set<string> {
    return new Set(this.#get<string[]>(`set:${name}`) ?? []);
  }
  #setAdd(name: string, id: bigint): boolean {
    const s = this.#set(name);
    if (s.has(id.toString())) return false;
    s.add(id.toString());
    this.#put(`set:${name}`, [...s]);
    return true;
  }
  #setDelete(name: string, id: bigint): void {
    const s = this.#set(name);
    if (s.delete(id.toString())) this.#put(`set:${name}`, [...s]);
  }
  followJob(jobId: bigint): boolean {
    return this.#setAdd("jobs", jobId);
  }
  unfollowJob(jobId: bigint): void {
    this.#setDelete("jobs", jobId);
  }
  followedJobs(): bigint[] {
    return [...this.#set("jobs")].map(BigInt).sort((a, b) => (a < b ? -1 : 1));
  }
  followDispute(disputeId: bigint): boolean {
    return this.#setAdd("disputes", disputeId);
  }
  unfollowDispute(disputeId: bigint): void {
    this.#setDelete("disputes", disputeId);
  }
  followedDisputes(): bigint[] {
    return [...this.#set("disputes")].map(BigInt).sort((a, b) => (a < b ? -1 : 1));
  }

  /** Payment tokens in which the AuditManager may owe this node fee shares (recorded when attesting). */
  feeTokens(): string[] {
    return this.#get<string[]>("set:fee-tokens") ?? [];
  }
  addFeeToken(token: string): void {
    const all = this.feeTokens();
    if (!all.some((t) => t.toLowerCase() === token.toLowerCase())) this.#put("set:fee-tokens", [...all, token]);
  }

  // ---- per job
  jobNote(jobId: bigint): JobNote {
    return this.#get<JobNote>(`job:${jobId}`) ?? {};
  }
  updateJobNote(jobId: bigint, patch: JobNote): void {
    this.#put(`job:${jobId}`, { ...this.jobNote(jobId), ...patch });
  }
  audit(jobId: bigint): AuditOutcome | undefined {
    return this.#get<AuditOutcome>(`audit:${jobId}`);
  }
  putAudit(jobId: bigint, outcome: AuditOutcome): void {
    this.#put(`audit:${jobId}`, outcome);
  }
  /** Failed attempts to fetch a job's sampled checkpoints (grace before "not served"). */
  unreachable(jobId: bigint): UnreachableRecord | undefined {
    return this.#get<UnreachableRecord>(`unreachable:${jobId}`);
  }
  noteUnreachable(jobId: bigint, nowMs: number): UnreachableRecord {
    const prev = this.unreachable(jobId);
    const rec = { firstAtMs: prev?.firstAtMs ?? nowMs, attempts: (prev?.attempts ?? 0) + 1 };
    this.#put(`unreachable:${jobId}`, rec);
    return rec;
  }
  challenges(jobId: bigint): ChallengeRecord[] {
    return this.#get<ChallengeRecord[]>(`challenges:${jobId}`) ?? [];
  }
  putChallenge(jobId: bigint, rec: ChallengeRecord): void {
    const all = this.challenges(jobId).filter((c) => c.interval !== rec.interval);
    all.push(rec);
    this.#put(`challenges:${jobId}`, all);
  }

  // ---- per dispute
  vote(disputeId: bigint, round: number): VoteRecord | undefined {
    const v = this.#get<VoteRecord>(`vote:${disputeId}:${round}`);
    if (v !== undefined && (![1, 2, 3].includes(v.vote) || !/^0x[0-9a-f]{64}$/.test(v.salt))) {
      throw new VoteRecordError("stored vote is malformed", { details: { disputeId, round } });
    }
    return v;
  }
  /** Stores the vote once; a second call for the same round keeps the first (never vote twice). */
  putVoteOnce(disputeId: bigint, round: number, v: VoteRecord): VoteRecord {
    const existing = this.vote(disputeId, round);
    if (existing) return existing;
    this.#put(`vote:${disputeId}:${round}`, v);
    return v;
  }
  locate(disputeId: bigint): LocateOutcome | undefined {
    return this.#get<LocateOutcome>(`locate:${disputeId}`);
  }
  putLocate(disputeId: bigint, o: LocateOutcome): void {
    this.#put(`locate:${disputeId}`, o);
  }
  chunkChallenges(disputeId: bigint): bigint[] {
    return this.#get<bigint[]>(`chunks:${disputeId}`) ?? [];
  }
  addChunkChallenge(disputeId: bigint, challengeId: bigint): void {
    const all = this.chunkChallenges(disputeId);
    if (!all.includes(challengeId)) this.#put(`chunks:${disputeId}`, [...all, challengeId]);
  }
}
