/** Typed errors of the integrator SDK: every one is a UPowError, so `shortMessage` and `details` name what was wrong. */
import { UPowError } from "../errors";

/** Base class: `instanceof SdkError` catches every failure the SDK itself reports. */
export class SdkError extends UPowError {
  override readonly name: string = "SdkError";
}

/** An argument is missing or out of range; `field` names it (e.g. "job.checkpointInterval"). */
export class SdkInputError extends SdkError {
  override readonly name = "SdkInputError";
  constructor(
    readonly field: string,
    problem: string,
    value?: unknown,
  ) {
    super(`${field} ${problem}`, {
      details: value === undefined ? { field } : { field, value: typeof value === "bigint" ? value.toString() : value },
    });
  }
}

/** The chain has no such job, or not the event the call needs (JobCreated, ResultSubmitted). */
export class JobNotFoundError extends SdkError {
  override readonly name = "JobNotFoundError";
}

/** The job is not in a status the call can use (getResult before the worker submitted, a Rejected job's model). */
export class JobNotFinalError extends SdkError {
  override readonly name = "JobNotFinalError";
  constructor(
    readonly jobId: bigint,
    readonly status: string,
    wanted: string,
  ) {
    super(`job ${jobId} is ${status}; ${wanted}`, { details: { jobId: jobId.toString(), status } });
  }
}

/** waitForFinal ran out of time; `status` is the last one read. */
export class WaitTimeoutError extends SdkError {
  override readonly name = "WaitTimeoutError";
  constructor(
    readonly jobId: bigint,
    readonly status: string,
    timeoutMs: number,
  ) {
    super(`job ${jobId} still ${status} after ${timeoutMs} ms`, { details: { jobId: jobId.toString(), status, timeoutMs } });
  }
}

/** An artifact (manifest, result index, state, graph) could not be fetched or does not match its commitment. */
export class ResultArtifactError extends SdkError {
  override readonly name = "ResultArtifactError";
  constructor(
    readonly what: string,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(`${what}: ${message}`, options);
  }
}
