/**
 * The decider (op-challenger's solver habit): a pure function from what is known about an Open job
 * to accept / reject-with-reason. No I/O; everything it needs is in its parameters.
 */
import type { Hash } from "../protocol/hashing";
import type { WorkerConfig } from "./config";
import { JobStatus, jobStatusName } from "../protocol/enums";

/** The on-chain fields the decision reads (from JobMarket.getJob). */
export interface ChainJobView {
  readonly jobId: bigint;
  readonly status: number;
  readonly paymentToken: string;
  readonly reward: bigint;
  readonly collateral: bigint;
  readonly totalSteps: bigint;
  readonly checkpointInterval: bigint;
  readonly numBatches: bigint;
  readonly flopsPerStep: bigint;
  readonly stateBytes: bigint;
  readonly initialStateHash: Hash;
  readonly dataRoot: Hash;
  readonly specHash: Hash;
  readonly claimDeadline: bigint;
  readonly trainingDuration: bigint;
}

/** What fetching and checking the job's artifacts established (see prepare.ts). */
export type PreparedView =
  | {
      readonly ok: true;
      /** Manifest values. */
      readonly totalSteps: bigint;
      readonly checkpointInterval: bigint;
      readonly numBatches: bigint;
      readonly declaredFlopsPerStep: bigint;
      readonly declaredStateBytes: bigint;
      readonly initialStateHash: Hash;
      readonly dataRoot: Hash;
      /** Re-derived by shape inference over the graph (§10.11). */
      readonly derivedFlopsPerStep: bigint;
      /** Actual size of the initial state file. */
      readonly derivedStateBytes: bigint;
      /** Graph + initial state + batches, bytes. */
      readonly artifactBytes: bigint;
    }
  | { readonly ok: false; readonly reason: "manifest-invalid" | "artifact-unavailable" | "graph-invalid"; readonly message: string };

export type RejectReason =
  | "not-open"
  | "claim-deadline-passed"
  | "token-not-accepted"
  | "price-too-low"
  | "manifest-invalid"
  | "artifact-unavailable"
  | "graph-invalid"
  | "manifest-mismatch"
  | "flops-understated"
  | "state-bytes-understated"
  | "flops-per-step-too-large"
  | "job-too-large"
  | "state-too-large"
  | "artifacts-too-large"
  | "collateral-too-high"
  | "insufficient-stake";

export type Decision = { readonly accept: true } | { readonly accept: false; readonly reason: RejectReason; readonly message: string };

export interface DecideParameters {
  readonly job: ChainJobView;
  readonly prepared: PreparedView | null;
  readonly config: Pick<
    WorkerConfig,
    "acceptedTokens" | "maxFlopsPerStep" | "maxJobFlops" | "maxStateBytes" | "maxArtifactBytes" | "maxCollateral"
  >;
  /** Chain time (latest block timestamp), seconds. */
  readonly now: bigint;
  /** The worker's free stake; undefined when unknown (not checked). */
  readonly freeStake?: bigint;
}

const TFLOP = 10n ** 12n;

function reject(reason: RejectReason, message: string): Decision {
  return { accept: false, reason, message };
}

/**
 * Cheap checks on chain values first (token, price, size, deadline, stake) so a job that fails them
 * is refused before any artifact is fetched: call with `prepared: null` for that pre-check; accept
 * needs a prepared view.
 */
export function decide(p: DecideParameters): Decision {
  const { job, config } = p;
  if (job.status !== JobStatus.Open) return reject("not-open", `job status is ${jobStatusName(job.status)}, not Open`);
  if (p.now > job.claimDeadline) return reject("claim-deadline-passed", `claim deadline ${job.claimDeadline} has passed`);
  const token = config.acceptedTokens.find((t) => t.address.toLowerCase() === job.paymentToken.toLowerCase());
  if (!token) return reject("token-not-accepted", `payment token ${job.paymentToken} is not accepted`);
  const totalFlops = job.totalSteps * job.flopsPerStep;
  if (job.flopsPerStep > config.maxFlopsPerStep)
    return reject("flops-per-step-too-large", `${job.flopsPerStep} FLOPs per step > ${config.maxFlopsPerStep}`);
  if (totalFlops > config.maxJobFlops) return reject("job-too-large", `${totalFlops} FLOPs > ${config.maxJobFlops}`);
  // reward / (totalFlops / 1e12) >= min  <=>  reward · 1e12 >= min · totalFlops
  if (job.reward * TFLOP < token.minRewardPerTflop * totalFlops) {
    return reject("price-too-low", `reward ${job.reward} for ${totalFlops} FLOPs is below ${token.minRewardPerTflop} per TFLOP`);
  }
  if (job.stateBytes > config.maxStateBytes) return reject("state-too-large", `state of ${job.stateBytes} bytes > ${config.maxStateBytes}`);
  if (config.maxCollateral !== undefined && job.collateral > config.maxCollateral) {
    return reject("collateral-too-high", `collateral ${job.collateral} > ${config.maxCollateral}`);
  }
  if (p.freeStake !== undefined && p.freeStake < job.collateral) {
    return reject("insufficient-stake", `free stake ${p.freeStake} < collateral ${job.collateral}`);
  }
  const m = p.prepared;
  if (m === null) return { accept: true };
  if (!m.ok) return reject(m.reason, m.message);
  const mismatch = (
    [
      ["totalSteps", m.totalSteps, job.totalSteps],
      ["checkpointInterval", m.checkpointInterval, job.checkpointInterval],
      ["numBatches", m.numBatches, job.numBatches],
      ["flopsPerStep", m.declaredFlopsPerStep, job.flopsPerStep],
      ["stateBytes", m.declaredStateBytes, job.stateBytes],
      ["initialStateHash", m.initialStateHash.toLowerCase(), job.initialStateHash.toLowerCase()],
      ["dataRoot", m.dataRoot.toLowerCase(), job.dataRoot.toLowerCase()],
    ] as const
  ).find(([, a, b]) => a !== b);
  if (mismatch) return reject("manifest-mismatch", `manifest ${mismatch[0]} ${mismatch[1]} differs from the chain's ${mismatch[2]}`);
  if (m.derivedFlopsPerStep > job.flopsPerStep) {
    return reject("flops-understated", `graph needs ${m.derivedFlopsPerStep} FLOPs per step, job declares ${job.flopsPerStep}`);
  }
  if (m.derivedStateBytes > job.stateBytes) {
    return reject("state-bytes-understated", `state is ${m.derivedStateBytes} bytes, job declares ${job.stateBytes}`);
  }
  if (m.derivedFlopsPerStep > config.maxFlopsPerStep)
    return reject("flops-per-step-too-large", `${m.derivedFlopsPerStep} FLOPs per step > ${config.maxFlopsPerStep}`);
  if (m.artifactBytes > config.maxArtifactBytes)
    return reject("artifacts-too-large", `${m.artifactBytes} bytes of artifacts > ${config.maxArtifactBytes}`);
  return { accept: true };
}
