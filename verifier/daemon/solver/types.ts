/**
 * What the solvers see (facts: on-chain state read at one block plus this node's own durable
 * records) and what they decide (actions). Plain data, so the solvers stay pure and testable.
 */

// The contracts' enums live in protocol/enums (checked against contracts/ by a test).
export { AuditorState, JobStatus, Phase, Ruling } from "../../protocol/enums";
/** IDataAvailability.Status (chunk challenges live in the DataAvailability since v3). */
export { ChallengeStatus as ChunkStatus } from "../../protocol/enums";

/** This node's audit of a job (persisted, so a restart does not redo it). */
export type AuditOutcome =
  | { kind: "passed"; sample: number[] }
  /** `failed`: intervals whose k-step replay broke the δ_k bound, or whose artifacts were provably wrong. */
  | { kind: "failed"; sample: number[]; failedIntervals: number[]; reason: string }
  /** Could not audit (spec or artifacts unusable, not provably the worker's fault): neither attest nor dispute. */
  | { kind: "skipped"; sample: number[]; reason: string };

/** A challenge this node committed to (salt persisted before the commitment was sent). */
export interface ChallengeRecord {
  interval: number;
  salt: string;
  commitment: string;
  /** Block the commitment was mined in; null until mined. */
  commitBlock: number | null;
  /** Dispute opened from it; null until known. */
  disputeId: bigint | null;
}

export interface JobFacts {
  jobId: bigint;
  status: number;
  /** Timestamp of the block the facts were read at. */
  now: bigint;
  /** Number of the block the facts were read at. */
  block: number;
  windowEnd: bigint;
  openDisputes: number;
  checkpointCount: number;
  auditorsDrawn: boolean;
  /** `drawAuditors` would draw or (re)schedule its seed now (AuditManager.canDraw). */
  seedReady: boolean;
  auditorState: number;
  auditSettled: boolean;
  /** `releaseAttester` succeeds only after this time: any job may be a canary (v3 V11.1), so an
   * attester waits for `windowEnd + canaryRevealPeriod` unless the canary was revealed (then 0). */
  releasableAfter: bigint;
  audit: AuditOutcome | undefined;
  /** Whether the audit is queued or running right now. */
  auditRunning: boolean;
  challenges: readonly ChallengeRecord[];
  /** On-chain active dispute id of each interval this node wants to dispute (0n = none). */
  activeDisputes: ReadonlyMap<number, bigint>;
}

export interface JobPolicy {
  /** Audit jobs at all (sample of s intervals). */
  audit: boolean;
  /** Open disputes on failed audits (needs a bond). */
  challenge: boolean;
  /** Call permissionless finalize / drawAuditors even when it only helps others. */
  callTimeouts: boolean;
  /** Seconds before a deadline at which this node stops starting a step that must land before it. */
  deadlineMarginSec: bigint;
}

export type JobAction =
  | { type: "audit" }
  | { type: "drawAuditors" }
  | { type: "attest"; sample: number[] }
  | { type: "commitChallenge"; interval: number }
  | { type: "openDispute"; interval: number; salt: string }
  | { type: "finalize" }
  | { type: "releaseAttester" };

/** This node's stored juror vote for one round (persisted BEFORE the commitment is sent). */
export interface VoteRecord {
  vote: 1 | 2 | 3;
  salt: string;
}

/** Where locating the faulty step of a dispute stands (challenger). */
export type LocateOutcome =
  | { kind: "found"; localStep: number }
  /** A state of the interval could not be fetched: pursue it with an on-chain chunk challenge. */
  | { kind: "unavailable"; leafIndex: number; chunkIndex: number }
  /** Every step passed the single-step rule: nothing to pinpoint (the dispute will time out). */
  | { kind: "none"; reason: string };

export interface ChunkChallengeFacts {
  challengeId: bigint;
  status: number;
  deadline: bigint;
}

export interface DisputeFacts {
  disputeId: bigint;
  jobId: bigint;
  now: bigint;
  block: number;
  jobStatus: number;
  phase: number;
  round: number;
  deadline: bigint;
  randomnessBlock: number;
  commitEnd: bigint;
  revealEnd: bigint;
  appealEnd: bigint;
  isChallenger: boolean;
  /** The randomness of `randomnessBlock` can be read (or has expired and must be re-targeted). */
  randomnessReady: boolean;
  /** This node's seat in the current round. */
  juror: { drawn: boolean; committed: boolean; revealed: boolean };
  roundJurors: number;
  roundCommits: number;
  roundReveals: number;
  /** Stored vote of this node for the current round. */
  vote: VoteRecord | undefined;
  /** Judging (juror) running. */
  judging: boolean;
  locate: LocateOutcome | undefined;
  locating: boolean;
  /**
   * The disputed interval's committed step leaf 0 (or k, `atEnd`) differs from checkpoint i (i+1):
   * provable with proveBoundaryMismatch. Known to the challenger only; undefined when none/unknown.
   */
  boundary: { atEnd: boolean } | undefined;
  /**
   * The challenger's view of the interval's step leaves on chain, when the result index gives no
   * verifiable ones (v3 V1.2); undefined when the index's leaves are used.
   */
  chainLeaves: { checkpointKnown: boolean; missing: { first: number; count: number } | null } | undefined;
  /** Chunk challenges (and leaf demands) this node opened in this dispute. */
  chunks: readonly ChunkChallengeFacts[];
  /** Current ruling (Ruling), meaningful in phase Ruled. */
  ruling: number;
  /** Appeals made so far and the most allowed (DisputeManager params). */
  appeals: number;
  maxAppeals: number;
  /**
   * What this node holds true about the disputed step: `fault` as the challenger, or its own
   * revealed juror vote (WorkerFault → fault, WorkerHonest → honest); undefined when it has no view.
   */
  belief: "fault" | "honest" | undefined;
  /** Steps pinpointed so far in this dispute (v3 V9.3: ≤ 3). @default 0 */
  pinpoints?: number;
  /** The located faulty step was judged honest in another dispute of the job (it cannot be pinpointed). */
  locatedJudged?: boolean;
}

export interface DisputePolicy {
  callTimeouts: boolean;
  deadlineMarginSec: bigint;
  /** Appeal (paying `appealBond`) a ruling against this node's belief when it is a party. @default false */
  appeal: boolean;
  /** After an Indeterminate ruling, pinpoint again (v3 V9.3). @default true */
  repinpoint?: boolean;
}

export type DisputeAction =
  | { type: "locate" }
  | { type: "pinpoint"; localStep: number }
  /** Convict outright: step leaf 0 / k of the interval is not its checkpoint (§7.3). */
  | { type: "proveBoundary"; atEnd: boolean }
  | { type: "challengeChunk"; leafIndex: number; chunkIndex: number }
  /** Demand step leaves the index does not give verifiably (DataAvailability.demandStepLeaves). */
  | { type: "demandStepLeaves"; first: number; count: number }
  | { type: "timeoutChunk"; challengeId: bigint }
  | { type: "timeoutPinpoint" }
  | { type: "drawCommittee" }
  | { type: "judge" }
  | { type: "commitVote"; round: number; vote: VoteRecord }
  | { type: "revealVote"; round: number; vote: VoteRecord }
  | { type: "resolve"; round: number }
  | { type: "finalizeRuling" }
  | { type: "closeMoot" }
  /** A party (challenger) appeals the ruling with the appeal bond. */
  | { type: "appeal"; round: number }
  /** The ruling contradicts this node's belief but it does not appeal: say so in the log. */
  | { type: "rulingDisputed"; why: "not-a-party" | "policy" | "max-appeals" };
