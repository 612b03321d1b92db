/**
 * How a worker publishes a trained job's result (states and the canonical result index) and which
 * leaf demands it answers. The honest publisher is the production path; adversarial decorators for
 * tests and demos live in publishCheats.ts and wrap it.
 */
import type { LocalStore } from "../store";
import { publishStates, type TrainedJob } from "./trainer";

export interface PublishParameters {
  readonly jobId: bigint;
  readonly trained: TrainedJob;
  /** Checkpoint directory of the job. */
  readonly dir: string;
  readonly store: LocalStore;
  /** Publish every step state now (else checkpoints only). */
  readonly steps: boolean;
}

/** A leaf demand on chain (DataAvailability) the worker may answer. */
export interface LeafDemand {
  readonly jobId: string;
  readonly kind: "checkpoints" | "step-leaves";
  readonly interval: number;
}

export interface ResultPublisher {
  /** Puts the states and the index bytes into the store; returns the index's store address (the resultURI's). */
  publish(p: PublishParameters): Promise<string>;
  /** Whether the worker answers this demand (and serves the interval's states). */
  answers(d: LeafDemand): boolean;
}

export const honestPublisher: ResultPublisher = {
  async publish(p) {
    await publishStates({ index: p.trained.index, dir: p.dir, store: p.store, steps: p.steps });
    return p.store.put(p.trained.indexBytes, { expectedHash: p.trained.indexAddress });
  },
  answers: () => true,
};
