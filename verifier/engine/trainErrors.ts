/** Typed errors of the trainer, replay and checkpoint store. */
import { UPowError } from "../errors";

/** Bad training parameters, an aborted run, or a directory that holds another job. */
export class TrainerError extends UPowError {
  override readonly name = "TrainerError";
}

/** The same step from the same inputs gave different bytes (§3: regeneration needs determinism). */
export class NondeterminismError extends UPowError {
  override readonly name = "NondeterminismError";
}

/** A checkpoint file or index is missing, unreadable, or does not hash to what the index says. */
export class CheckpointStoreError extends UPowError {
  override readonly name = "CheckpointStoreError";
}
