/**
 * What the players share: narrow views of the contracts (each player declares what it reads),
 * this node's records, the scheduler, the responder and the checks. Built once by the service.
 */
import type { Logger } from "pino";
import type {
  AuditManager,
  BlockhashRandomness,
  DataAvailability,
  DisputeManager,
  IERC20,
  JobMarket,
  StakeManager,
} from "../../../typechain-types";
import type { UPowMetrics } from "../../chain/metrics";
import type { AmountFormatter } from "../../chain/tokenInfo";
import type { ResultIndex } from "../../protocol/resultIndex";
import type { ArtifactClient } from "../check/artifacts";
import type { UnservedPolicy } from "../check/audit";
import { IndexUnverifiableError, type IndexVerdict, type ResultIndexCache } from "../check/resultIndex";
import type { RunnerFactory, RunnerSettingsChoice } from "../check/runners";
import type { StateRequestSigning } from "../check/stepStates";
import type { JobSpec, JobSpecLoader, OnChainJobTerms } from "../check/spec";
import { VerifierDaemonError } from "../errors";
import type { DaemonRecords } from "../records";
import type { Responder } from "../../runtime/responder";
import type { Scheduler } from "../scheduler/scheduler";
import type { JudgementCache } from "../check/judgements";
import type { DisputePolicy, JobPolicy } from "../solver/types";

// Reads, then (after the `|` line) the calls players hand to the responder (contractCall names them).
export type JobMarketView = Pick<
  JobMarket,
  "getJob" | "jobTerms" | "checkpointCount" | "interface" | "filters" | "queryFilter" | "getAddress" | "finalize"
>;
export type AuditManagerView = Pick<
  AuditManager,
  | "getAudit"
  | "auditorState"
  | "auditorSeats"
  | "canDraw"
  | "canaryRevealPeriod"
  | "credits"
  | "interface"
  | "getAddress"
  | "drawAuditors"
  | "attest"
  | "releaseAttester"
  | "withdraw"
>;
export type DisputeManagerView = Pick<
  DisputeManager,
  | "getDispute"
  | "getRound"
  | "getVote"
  | "disputeOf"
  | "stepJudged"
  | "credits"
  | "params"
  | "interface"
  | "filters"
  | "queryFilter"
  | "getAddress"
  | "commitChallenge"
  | "openDispute"
  | "pinpoint"
  | "proveBoundaryMismatch"
  | "timeoutPinpoint"
  | "drawCommittee"
  | "commitVote"
  | "revealVote"
  | "resolve"
  | "finalizeRuling"
  | "closeMoot"
  | "appeal"
  | "withdraw"
>;
export type DataAvailabilityView = Pick<
  DataAvailability,
  | "getChallenge"
  | "stepLeaf"
  | "checkpointLeaf"
  | "params"
  | "interface"
  | "filters"
  | "queryFilter"
  | "getAddress"
  | "timeoutChallenge"
  | "demandStepLeaves"
  | "proveStepLeaves"
  | "challengeStateChunk"
>;
export type RandomnessView = Pick<BlockhashRandomness, "isAvailable" | "isExpired">;
/** Epochs: a dispute draw waits for its epoch (v3 V3.2). */
export type StakeManagerView = Pick<StakeManager, "currentEpoch" | "queueSettled" | "interface" | "getAddress" | "applyQueued">;
export type TokenView = Pick<IERC20, "allowance" | "interface" | "getAddress" | "approve">;

/** The block all reads of one tick are made at (latest − confirmations) and its timestamp. */
export interface Tick {
  block: number;
  now: bigint;
}

export interface PlayerContext {
  me: string;
  jobMarket: JobMarketView;
  auditManager: AuditManagerView;
  disputeManager: DisputeManagerView;
  dataAvailability: DataAvailabilityView;
  randomness: RandomnessView;
  stakeManager: StakeManagerView;
  stakingToken: TokenView;
  /** Deployment block of the JobMarket (start of event look-ups). */
  fromBlock: number;
  records: DaemonRecords;
  scheduler: Scheduler;
  responder: Responder;
  /** Mined block of an intent by key (the journal), null while not mined. */
  minedBlock(key: string): number | null;
  client: ArtifactClient;
  /** Verdicts on result indexes, one per content address (v3 V1.4). */
  indexes: ResultIndexCache;
  /** Juror verdicts, one per judged step of a job. */
  judgements: JudgementCache;
  specs: JobSpecLoader;
  runners: RunnerFactory;
  settings: readonly [RunnerSettingsChoice, RunnerSettingsChoice];
  jobPolicy: JobPolicy;
  disputePolicy: DisputePolicy;
  /** Per-task budget of replays (ms). */
  taskBudgetMs: number;
  /** When an unfetchable sampled checkpoint counts as not served (§10.6) rather than our own trouble. */
  unserved: UnservedPolicy;
  /** Single steps checked per sampled interval (V7.2). @default DEFAULT_SINGLE_STEPS */
  singleSteps?: number;
  /** Signed state requests to workers (V7.1); absent: step states from the mirrors only. */
  stateRequests?: StateRequestSigning;
  /** Token amounts in log lines with their units (symbol, decimals read once per token). */
  tokens: AmountFormatter;
  logger: Logger;
  metrics?: UPowMetrics;
}

export interface JobMaterials {
  terms: OnChainJobTerms;
  spec: JobSpec;
  /** Intervals the index fails have empty `steps` (their leaves come from the chain, chainLeaves.ts). */
  index: ResultIndex;
}

/** Spec + result index of a submitted job; IndexUnverifiableError when the index was judged unverifiable. */
export async function loadJobMaterials(ctx: PlayerContext, jobId: bigint): Promise<JobMaterials> {
  const { terms, verdict } = await loadJobTerms(ctx, jobId);
  if (verdict.kind === "unverifiable")
    throw new IndexUnverifiableError(`result index unverifiable: ${verdict.reason}`, { details: { jobId } });
  const spec = await ctx.specs.load(terms);
  return { terms, spec, index: verdict.committed.index };
}

/** On-chain terms and the verdict on the result index (URIs from the records, else from the job's events). */
export async function loadJobTerms(
  ctx: PlayerContext,
  jobId: bigint,
): Promise<{ terms: OnChainJobTerms; resultURI: string; verdict: IndexVerdict }> {
  const job = await ctx.jobMarket.getJob(jobId);
  const note = ctx.records.jobNote(jobId);
  let { specURI, resultURI } = note;
  if (specURI === undefined) {
    const logs = await ctx.jobMarket.queryFilter(ctx.jobMarket.filters.JobCreated(jobId), ctx.fromBlock);
    specURI = logs[0]?.args.specURI;
  }
  if (resultURI === undefined) {
    // The submission block is on chain: one block to read, whatever the scan start was.
    const at = Number(job.submittedBlock);
    const logs = await ctx.jobMarket.queryFilter(ctx.jobMarket.filters.ResultSubmitted(jobId), at, at);
    resultURI = logs[logs.length - 1]?.args.resultURI;
  }
  if (specURI === undefined || resultURI === undefined) {
    throw new VerifierDaemonError("job events not found (spec or result URI)", { details: { jobId } });
  }
  ctx.records.updateJobNote(jobId, { specURI, resultURI });
  const terms: OnChainJobTerms = {
    jobId,
    specHash: job.specHash,
    specURI,
    dataRoot: job.dataRoot,
    initialStateHash: job.initialStateHash,
    totalSteps: job.totalSteps,
    checkpointInterval: job.checkpointInterval,
    numBatches: job.numBatches,
    flopsPerStep: job.flopsPerStep,
    stateBytes: job.stateBytes,
  };
  const verdict = await ctx.indexes.verdict({
    resultURI,
    jobId,
    checkpointRoot: job.checkpointRoot,
    totalSteps: job.totalSteps,
    checkpointInterval: job.checkpointInterval,
  });
  return { terms, resultURI, verdict };
}
