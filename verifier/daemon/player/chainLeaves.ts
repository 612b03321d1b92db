/**
 * Step leaves of a disputed interval when the result index gives no verifiable ones (v3 V1.2):
 * the challenger demands them (DataAvailability.demandStepLeaves, ≤ 64 per demand) and, once the
 * worker posted them, reads them from DataAvailability.stepLeaf. The store addresses of the states
 * still come from whatever well-formed entries the index listed (each fetched file is checked
 * against the leaf on chain, so a wrong address only makes that state unavailable).
 */
import type { IndexedState } from "../../protocol/resultIndex";
import { loadJobTerms, type DataAvailabilityView, type PlayerContext } from "./context";

/** The most leaves one demand may ask for (DataAvailability.MAX_LEAVES). */
const MAX_LEAVES_PER_DEMAND = 64;

/** A store address nothing is stored under: the state is unavailable (→ chunk challenge). */
const NO_ADDRESS = "0".repeat(64);

/** `index`: the index's own leaves hold; `chain`: they must come from the chain; undefined: no verdict yet. */
export type IntervalSource = { kind: "index" } | { kind: "chain"; listed: readonly (IndexedState | null)[] };

export async function intervalSource(ctx: PlayerContext, jobId: bigint, interval: number): Promise<IntervalSource | undefined> {
  let verdict;
  try {
    ({ verdict } = await loadJobTerms(ctx, jobId));
  } catch {
    return undefined;
  }
  if (verdict.kind === "unverifiable") return { kind: "chain", listed: [] };
  const f = verdict.committed.failed.find((v) => v.interval === interval);
  return f ? { kind: "chain", listed: f.listed } : { kind: "index" };
}

export interface ChainLeavesStatus {
  /** Checkpoint leaf `interval` is stored (a step-leaf demand needs it; a checkpoint demand is answered). */
  checkpointKnown: boolean;
  /** The next range to demand; null when all k+1 leaves are stored. */
  missing: { first: number; count: number } | null;
}

export async function chainLeavesStatus(
  da: DataAvailabilityView,
  jobId: bigint,
  interval: number,
  k: number,
  blockTag: number,
): Promise<ChainLeavesStatus> {
  const bt = { blockTag };
  if (!(await da.checkpointLeaf(jobId, interval, bt)).known) return { checkpointKnown: false, missing: null };
  for (let j = 0; j <= k; j++) {
    if (!(await da.stepLeaf(jobId, BigInt(interval * k + j), bt)).known) {
      return { checkpointKnown: true, missing: { first: j, count: Math.min(MAX_LEAVES_PER_DEMAND, k + 1 - j) } };
    }
  }
  return { checkpointKnown: true, missing: null };
}

/** The interval's k+1 committed states as stored on chain, with the index's store addresses where it listed them. */
export async function stepsFromChain(
  da: DataAvailabilityView,
  jobId: bigint,
  interval: number,
  k: number,
  listed: readonly (IndexedState | null)[],
): Promise<IndexedState[]> {
  const steps: IndexedState[] = [];
  for (let j = 0; j <= k; j++) {
    const leaf = await da.stepLeaf(jobId, BigInt(interval * k + j));
    const stateHash = leaf.stateHash.toLowerCase();
    // Tried even when the listed hash was tampered with: the file is checked against the chain leaf.
    steps.push({ stateHash, sha256: listed[j]?.sha256 ?? NO_ADDRESS });
  }
  return steps;
}
