import { UPowError } from "../errors";

/** Base of the verifier daemon's errors. */
export class VerifierDaemonError extends UPowError {
  override readonly name: string = "VerifierDaemonError";
}

/** The configuration is unusable (flag or env value named in `details`). */
export class VerifierConfigError extends VerifierDaemonError {
  override readonly name: string = "VerifierConfigError";
}

/** An expected outcome, not a fault: the bounded pool is full and the job was not queued. */
export class SchedulerBusyError extends VerifierDaemonError {
  override readonly name: string = "SchedulerBusyError";
}

/** A job ran past its per-job time budget and was aborted. */
export class JobBudgetExceededError extends VerifierDaemonError {
  override readonly name: string = "JobBudgetExceededError";
}

/**
 * An artifact the worker serves (result index, state, graph, batch) is missing or bad: wrong hash,
 * oversize, truncated, unparsable, or a graph that fails validation. `unavailable` tells "could not
 * be fetched" (→ chunk challenge) from "fetched but wrong" (→ the worker's fault is provable).
 */
export class ArtifactProblemError extends VerifierDaemonError {
  override readonly name: string = "ArtifactProblemError";
  readonly unavailable: boolean;
  /**
   * No mirror delivered any bytes (unreachable, timeout, HTTP error, 404, cut transfer): it may be
   * our network as well as the worker, so it is retried over a grace period before it counts as
   * "not served". False when bytes came and were wrong (hash mismatch, oversize): definitive.
   */
  readonly transient: boolean;
  constructor(
    shortMessage: string,
    options: { cause?: unknown; details?: Record<string, unknown>; unavailable: boolean; transient?: boolean },
  ) {
    super(shortMessage, options);
    this.unavailable = options.unavailable;
    this.transient = options.transient ?? false;
  }
}

/**
 * Sampled checkpoints could not be fetched (transiently) and the grace period is not over: the
 * audit is retried later; no interval is blamed and no bond is committed yet.
 */
export class ArtifactsUnreachableError extends VerifierDaemonError {
  override readonly name: string = "ArtifactsUnreachableError";
  constructor(
    readonly intervals: readonly number[],
    reasons: readonly string[],
  ) {
    super("sampled checkpoints could not be fetched; retrying before blaming the worker", { details: { intervals, reasons } });
  }
}

/** The job's spec (manifest) cannot be used: fetch failed, hash mismatch, or malformed. */
export class JobSpecError extends VerifierDaemonError {
  override readonly name: string = "JobSpecError";
}

/**
 * This node refuses to run anything of the job, for good: nothing changes on a retry, so the
 * refusal is cached. Nothing of the job (state, step) was fetched or run.
 */
export class JobRefusedError extends JobSpecError {
  override readonly name: string = "JobRefusedError";
}

/**
 * v3 V8.2 InvalidSpec: the manifest understates the cost model's derivation, names another cost
 * model, or has a graph the model cannot cost (a shape that is not static). No slash: the verifier
 * does not audit the job and, as a juror, votes Indeterminate (the chain has no InvalidSpec ruling).
 */
export class InvalidSpecError extends JobRefusedError {
  override readonly name: string = "InvalidSpecError";
}

/** The job's derived cost is above this node's caps (V8.1): declared honestly, but not ours to run. */
export class JobAboveCapsError extends JobRefusedError {
  override readonly name: string = "JobAboveCapsError";
}

/** A stored vote record is corrupt or disagrees with what was committed on chain. */
export class VoteRecordError extends VerifierDaemonError {
  override readonly name: string = "VoteRecordError";
}

/**
 * The worker refused our signed request for a step state (V7.1) because of who we are or what we
 * asked: a bad or expired signature (401), not a party of the job (403), over the quota (429).
 * Not evidence against the worker: the state is not ours to see.
 */
export class StateRequestRefusedError extends VerifierDaemonError {
  override readonly name: string = "StateRequestRefusedError";
  constructor(
    shortMessage: string,
    readonly status: number,
    details?: Record<string, unknown>,
  ) {
    super(shortMessage, { details: { status, ...details } });
  }
}
