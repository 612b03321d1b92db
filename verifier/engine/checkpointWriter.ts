/**
 * Checkpoint writes off the training thread's critical path (issue 18). Tasks (state files, index
 * updates) run in the background strictly in the order they were queued, so an index that names a
 * file is only written after that file. A bounded number of queued tasks keeps memory flat when the
 * disk is slower than training: `room()` waits for the oldest. The first failure is kept and thrown
 * by the next `room()` or `drain()`, so no write error goes unnoticed.
 */

export class CheckpointWriter {
  private tail: Promise<void> = Promise.resolve();
  private readonly queued: Promise<void>[] = [];
  private failure: { readonly error: unknown } | undefined;

  /** @param maxQueued tasks allowed in the queue before `room()` waits (each may hold one state's bytes). */
  constructor(private readonly maxQueued = 4) {}

  /** Queues `task` after every earlier one; the result promise rejects if it (or an earlier task) failed. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => {
      if (this.failure) throw this.failure.error;
      return task();
    });
    const done = result.then(
      () => undefined,
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    this.tail = done;
    this.queued.push(done);
    // Tasks run chained on `tail`, so they settle in order: the one settling is always the oldest.
    void done.then(() => this.queued.shift());
    // Callers may never await a result (a failure surfaces through room()/drain()).
    result.catch(() => undefined);
    return result;
  }

  /** Waits until fewer than `maxQueued` tasks are queued; throws the first failure. */
  async room(): Promise<void> {
    while (this.queued.length >= this.maxQueued) await this.queued[0];
    if (this.failure) throw this.failure.error;
  }

  /** Waits for every queued task; throws the first failure. */
  async drain(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure.error;
  }

  /** Waits for every queued task and ignores failures (clean-up on an error path). */
  async settle(): Promise<void> {
    await this.tail;
  }
}
