/** Typed errors of the trainer, replay and checkpoint store. */
import { UPowError } from "../errors";

/** Bad training parameters, an aborted run, or a directory that holds another job. */
export class TrainerError extends UPowError {
  override readonly name = "TrainerError";
}

/** A checkpoint file or index is missing, unreadable, or does not hash to what the index says. */
export class CheckpointStoreError extends UPowError {
  override readonly name = "CheckpointStoreError";
}
