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

/**
 * A demand on chain the worker may answer: a DataAvailability challenge (leaves, a chunk), or a
 * dispute's interval whose states it serves (`step-leaves`).
 */
export interface Demand {
  readonly jobId: string;
  readonly kind: "checkpoints" | "step-leaves" | "state-chunk" | "batch-chunk";
  readonly interval: number;
}

export interface ResultPublisher {
  /** Puts the states and the index bytes into the store; returns the index's store address (the resultURI's). */
  publish(p: PublishParameters): Promise<string>;
  /** Whether the worker answers this demand (and serves the interval's states). */
  answers(d: Demand): boolean;
  /** Whether signed step-state requests (V7.1) are served. */
  readonly servesStates: boolean;
}

export const honestPublisher: ResultPublisher = {
  async publish(p) {
    await publishStates({ index: p.trained.index, dir: p.dir, store: p.store, steps: p.steps });
    return p.store.put(p.trained.indexBytes, { expectedHash: p.trained.indexAddress });
  },
  answers: () => true,
  servesStates: true,
};
