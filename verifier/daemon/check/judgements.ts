/**
 * Verdicts of judged steps, one per (job, interval, step). A juror seated on several disputes of the
 * same step (several challengers on one faked interval, reopens, appeal rounds) runs the step once:
 * five disputes drawn together gave each juror up to three runs of the same step back to back, and
 * the later commits came late. The verdict depends only on the job's spec and result index and the
 * step, all fixed per job, so it is the same for every dispute. Only determinate votes are kept: an
 * Indeterminate one (states not served, runs disagreeing) may change on a later try.
 */
import { Vote } from "../../engine/tolerance";
import type { JudgeStepReturnType } from "./judge";

export interface JudgedStep {
  jobId: bigint;
  interval: number;
  globalStep: number;
}

export interface JudgementReturnType extends JudgeStepReturnType {
  /** True when an earlier (or concurrent) judgement of the same step gave this verdict. */
  reused: boolean;
}

/** Most verdicts kept (oldest dropped first): a daemon runs for weeks. */
const DEFAULT_CAPACITY = 1024;

export class JudgementCache {
  readonly #done = new Map<string, JudgeStepReturnType>();
  readonly #running = new Map<string, Promise<JudgeStepReturnType>>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#capacity = capacity;
  }

  /** The step's verdict: a kept one, the one being computed, or `run()`'s. */
  async judge(step: JudgedStep, run: () => Promise<JudgeStepReturnType>): Promise<JudgementReturnType> {
    const key = `${step.jobId}:${step.interval}:${step.globalStep}`;
    const done = this.#done.get(key);
    if (done !== undefined) return { ...done, reused: true };
    const running = this.#running.get(key);
    if (running !== undefined) return { ...(await running), reused: true };
    const p = run();
    this.#running.set(key, p);
    try {
      const v = await p;
      if (v.vote !== Vote.Indeterminate) this.#keep(key, v);
      return { ...v, reused: false };
    } finally {
      this.#running.delete(key);
    }
  }

  #keep(key: string, v: JudgeStepReturnType): void {
    this.#done.set(key, v);
    if (this.#done.size > this.#capacity) this.#done.delete(this.#done.keys().next().value as string);
  }
}
