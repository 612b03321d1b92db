/**
 * Bounded pool for the heavy work (fetch + replay + compare), op-challenger's scheduler: at most
 * `concurrency` tasks run, at most `maxQueued` wait, and anything beyond is refused with
 * SchedulerBusyError instead of queueing without limit. Tasks are keyed: scheduling a key that is
 * already queued or running returns the same promise, so the per-block loop can ask for the same
 * work every block without piling it up. Every task gets an AbortSignal that fires on its budget
 * or on `close()`.
 */
import type { Logger } from "pino";
import { JobBudgetExceededError, SchedulerBusyError, VerifierDaemonError } from "../errors";

export interface SchedulerParameters {
  /** Tasks running at once. @default 2 */
  concurrency?: number;
  /** Tasks waiting at most; more are refused (Busy). @default 16 */
  maxQueued?: number;
  /** Default budget of one task in ms (aborted after). @default 600_000 */
  budgetMs?: number;
  logger: Logger;
}

export type Task<T> = (signal: AbortSignal) => Promise<T>;

interface Entry {
  key: string;
  run: () => void;
  reject: (err: unknown) => void;
}

export interface SchedulerStats {
  running: number;
  queued: number;
  refused: number;
}

export class Scheduler {
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #budgetMs: number;
  readonly #logger: Logger;
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #queue: Entry[] = [];
  readonly #closing = new AbortController();
  #running = 0;
  #refused = 0;

  constructor(params: SchedulerParameters) {
    this.#concurrency = params.concurrency ?? 2;
    this.#maxQueued = params.maxQueued ?? 16;
    this.#budgetMs = params.budgetMs ?? 600_000;
    for (const [name, v, min] of [
      ["concurrency", this.#concurrency, 1],
      ["maxQueued", this.#maxQueued, 0],
      ["budgetMs", this.#budgetMs, 1],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < min)
        throw new VerifierDaemonError(`scheduler ${name} must be an integer ≥ ${min}`, { details: { [name]: v } });
    }
    this.#logger = params.logger.child({ component: "scheduler" });
  }

  stats(): SchedulerStats {
    return { running: this.#running, queued: this.#queue.length, refused: this.#refused };
  }

  /** True while `key` is queued or running. */
  has(key: string): boolean {
    return this.#inflight.has(key);
  }

  /**
   * Run `task` under `key` when a slot is free. Throws SchedulerBusyError (synchronously, as a
   * rejected promise) when the queue is full; JobBudgetExceededError when the budget ran out.
   */
  schedule<T>(key: string, task: Task<T>, options: { budgetMs?: number } = {}): Promise<T> {
    const existing = this.#inflight.get(key);
    if (existing) return existing as Promise<T>;
    if (this.#closing.signal.aborted) return Promise.reject(new VerifierDaemonError("scheduler is closed", { details: { key } }));
    if (this.#running >= this.#concurrency && this.#queue.length >= this.#maxQueued) {
      this.#refused++;
      this.#logger.warn({ key, ...this.stats() }, "busy: task refused");
      return Promise.reject(
        new SchedulerBusyError("scheduler is busy", { details: { key, running: this.#running, queued: this.#queue.length } }),
      );
    }
    const budgetMs = options.budgetMs ?? this.#budgetMs;
    const promise = new Promise<T>((resolve, reject) => {
      const run = () => {
        this.#running++;
        const budget = AbortSignal.timeout(budgetMs);
        const signal = AbortSignal.any([budget, this.#closing.signal]);
        const started = Date.now();
        let onAbort: (() => void) | undefined;
        // The task should honour its signal; the race makes a task that does not still free its slot.
        const aborted = new Promise<never>((_, rej) => {
          onAbort = () =>
            rej(
              budget.aborted
                ? new JobBudgetExceededError("task exceeded its budget", { details: { key, budgetMs } })
                : new VerifierDaemonError("scheduler closed", { details: { key } }),
            );
          signal.addEventListener("abort", onAbort, { once: true });
        });
        aborted.catch(() => undefined);
        // Free the slot before settling, so a caller that awaits the task sees it gone.
        const settle = () => {
          if (onAbort) signal.removeEventListener("abort", onAbort);
          this.#running--;
          this.#inflight.delete(key);
          this.#logger.debug({ key, ms: Date.now() - started }, "task done");
          this.#next();
        };
        Promise.race([Promise.resolve().then(() => task(signal)), aborted]).then(
          (v) => {
            settle();
            resolve(v);
          },
          (e: unknown) => {
            settle();
            reject(e);
          },
        );
      };
      this.#queue.push({ key, run, reject });
    });
    this.#inflight.set(key, promise);
    // Callers that only poll with `has()` must not cause unhandled rejections.
    promise.catch(() => undefined);
    this.#next();
    return promise;
  }

  /** Abort every running task and drop the queue. */
  close(): void {
    this.#closing.abort();
    for (const e of this.#queue.splice(0)) {
      this.#inflight.delete(e.key);
      e.reject(new VerifierDaemonError("scheduler closed", { details: { key: e.key } }));
    }
  }

  #next(): void {
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      const e = this.#queue.shift()!;
      e.run();
    }
  }
}
