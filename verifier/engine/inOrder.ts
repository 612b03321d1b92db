/**
 * Results of background work (state hashes from the hashing worker) consumed in the order it was
 * started, without waiting for a result that is still being computed unless more than `maxInFlight`
 * are outstanding. On a loaded machine the worker may get its core late; waiting for it after every
 * step would add that scheduling delay to every step, so the training thread runs ahead instead.
 */
export class InOrder<T> {
  private readonly items: ({ readonly promise: Promise<T>; done: boolean } | undefined)[] = [];
  private head = 0;

  constructor(
    private readonly maxInFlight: number,
    private readonly consume: (value: T, index: number) => Promise<void> | void,
  ) {}

  push(promise: Promise<T>): void {
    const item = { promise, done: false };
    const mark = (): void => {
      item.done = true;
    };
    promise.then(mark, mark);
    this.items.push(item);
  }

  /** Number of results consumed so far. */
  get consumed(): number {
    return this.head;
  }

  /** Consumes finished results in order; waits only while more than `maxInFlight` are outstanding, or for all with `all`. */
  async drain(all = false): Promise<void> {
    while (this.head < this.items.length) {
      const item = this.items[this.head]!;
      if (!all && !item.done && this.items.length - this.head <= this.maxInFlight) return;
      const value = await item.promise;
      // Consumed results are dropped at once: each may hold a whole state's bytes.
      this.items[this.head] = undefined;
      this.head++;
      await this.consume(value, this.head - 1);
    }
  }

  /** Waits for every outstanding result and ignores failures (clean-up on an error path). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.items.slice(this.head).map((i) => i!.promise));
  }
}
