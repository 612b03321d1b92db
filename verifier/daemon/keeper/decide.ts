/**
 * The keeper's pure decisions (facts in, actions out): which randomness targets need a
 * checkpoint, a reveal or a VRF request before anyone can draw (docs/randomness.md "Keepers and
 * daemons"), which of this node's DataAvailability challenges can be settled, and when to withdraw.
 */
import { ChunkStatus, JobStatus } from "../solver/types";

/** Which IRandomness contract is deployed (docs/randomness.md). */
export type RandomnessSource = "blockhash" | "prevrandao" | "l1origin" | "vrf";

/** One block some draw this node follows is seeded by, with what the source says about it. */
export interface TargetFacts {
  block: bigint;
  /** `isAvailable(block)`: already revealed (or fulfilled); nothing to do. */
  available: boolean;
  /** `isExpired(block)`: too late; the draw call re-targets it (a reveal would revert). */
  expired: boolean;
  /** l1origin: `checkpointed(block) != 0`. */
  checkpointed?: boolean;
  /** vrf: `requestOf(block).made`. */
  requested?: boolean;
}

export interface RandomnessFacts {
  source: RandomnessSource;
  targets: readonly TargetFacts[];
  /**
   * The newest block of the source's clock that counts as final: the tick block (latest −
   * confirmations) for prevrandao and vrf; headers are revealed only once final (a reveal of a
   * block a reorg drops would be dropped with it, docs/randomness.md).
   */
  finalBlock: bigint;
  /** l1origin: the current L1 origin number (`currentBlock()`), read at the head. */
  l1Origin?: bigint;
}

export type RandomnessAction =
  { type: "reveal"; block: bigint } | { type: "checkpoint"; l1Origin: bigint } | { type: "request"; block: bigint };

export function randomnessActions(f: RandomnessFacts): RandomnessAction[] {
  const out: RandomnessAction[] = [];
  const pending = uniqueTargets(f.targets).filter((t) => !t.available && !t.expired);
  switch (f.source) {
    case "blockhash":
      // blockhash(T) is read by the draw itself.
      return out;
    case "prevrandao":
      for (const t of pending) if (t.block <= f.finalBlock) out.push({ type: "reveal", block: t.block });
      return out;
    case "vrf":
      for (const t of pending) if (t.block <= f.finalBlock && t.requested !== true) out.push({ type: "request", block: t.block });
      return out;
    case "l1origin":
      // The hash of L1 block T is only recorded while T is the L1 origin (~12 s): checkpoint then;
      // once recorded, T's header (from an L1 RPC) can be revealed at any later time.
      if (f.l1Origin !== undefined && pending.some((t) => t.block === f.l1Origin && t.checkpointed !== true)) {
        out.push({ type: "checkpoint", l1Origin: f.l1Origin });
      }
      for (const t of pending) if (t.checkpointed === true) out.push({ type: "reveal", block: t.block });
      return out;
  }
}

function uniqueTargets(ts: readonly TargetFacts[]): TargetFacts[] {
  const seen = new Map<bigint, TargetFacts>();
  for (const t of ts) if (t.block > 0n && !seen.has(t.block)) seen.set(t.block, t);
  return [...seen.values()].sort((a, b) => (a.block < b.block ? -1 : 1));
}

/** An availability challenge this node opened, with its job's status. */
export interface OwnChallengeFacts {
  challengeId: bigint;
  status: number;
  jobStatus: number;
}

export interface SettleDecision {
  /** Answered challenges of jobs that are over: `settle` returns the bond (less answerFee). */
  settle: bigint[];
  /** Nothing left to do (timed out, settled, or unknown): stop watching. */
  forget: bigint[];
}

export function settleDecision(cs: readonly OwnChallengeFacts[]): SettleDecision {
  const d: SettleDecision = { settle: [], forget: [] };
  for (const c of cs) {
    if (c.status === ChunkStatus.Answered) {
      // DataAvailability.settle refuses while the job is still Submitted (a later conviction
      // decides whether the worker earns the answer fee).
      if (c.jobStatus !== JobStatus.Submitted) d.settle.push(c.challengeId);
    } else if (c.status !== ChunkStatus.Open) {
      d.forget.push(c.challengeId);
    }
  }
  return d;
}

/**
 * Whether the challenger names a step now (v3 V9.3): the first pinpoint always; after an
 * Indeterminate ruling reopened pinpointing, its located faulty step again (a fresh committee;
 * after the third Indeterminate the interval's reward goes back to the requester), unless that
 * step was judged honest in another dispute of the job (the pinpoint would revert) or re-pinpointing
 * is switched off; then the dispute closes Indeterminate at the deadline with the bond refunded.
 */
export function mayPinpoint(pinpoints: number, locatedJudged: boolean, repinpoint: boolean): boolean {
  return pinpoints === 0 || (repinpoint && !locatedJudged);
}

/** Journal key of the n-th pinpoint (0-based; the first keeps the key it always had). */
export function pinpointKey(disputeId: bigint, pinpoints: number): string {
  return pinpoints === 0 ? `pinpoint:${disputeId}` : `pinpoint:${disputeId}:${pinpoints}`;
}
