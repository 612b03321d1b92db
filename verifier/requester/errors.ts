/** Typed errors of the requester tooling. */
import { UPowError } from "../errors";

export class CreateJobError extends UPowError {
  override readonly name: string = "CreateJobError";
}

/** The job's manifest or an artifact it names is unusable; `what` names the part, the message why. */
export class JobSpecInvalidError extends CreateJobError {
  override readonly name = "JobSpecInvalidError";
  constructor(
    readonly what: "manifest" | "terms" | "graph" | "dataset" | "initial state" | "batch",
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options);
  }
}
