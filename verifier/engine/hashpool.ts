/**
 * A small persistent pool of worker threads that compute chunk leaves (`sha256("upow.chunk" ‖ chunk)`)
 * of chunk-aligned byte ranges, and on request the plain sha256 of the range (a stored file's content address).
 * The worker code is inline JavaScript so it runs the same under ts-node and compiled builds. Workers are unref'd while idle, so an idle pool never keeps the process alive.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { UPowError } from "../errors";
import { CHUNK_SIZE } from "../protocol/hashing";

/** A hashing worker failed or exited while it held a task. */
class HashWorkerError extends UPowError {
  override readonly name = "HashWorkerError";
}

/** The pool was used after `close()`. */
export class HashPoolClosedError extends UPowError {
  override readonly name = "HashPoolClosedError";
  constructor() {
    super("hash pool is closed");
  }
}

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const TAG = Buffer.from("upow.chunk", "ascii");
const CHUNK = ${CHUNK_SIZE};
parentPort.on("message", (m) => {
  try {
    const data = new Uint8Array(m.buffer, m.offset, m.length);
    const n = Math.ceil(m.length / CHUNK);
    const out = new Uint8Array(n * 32 + (m.plain ? 32 : 0));
    for (let i = 0; i < n; i++) {
      const h = createHash("sha256");
      h.update(TAG);
      h.update(data.subarray(i * CHUNK, Math.min((i + 1) * CHUNK, m.length)));
      out.set(h.digest(), i * 32);
    }
    if (m.plain) out.set(createHash("sha256").update(data).digest(), n * 32);
    // A moved buffer goes back to its owner (no copy either way).
    const back = m.giveBack ? [out.buffer, m.buffer] : [out.buffer];
    parentPort.postMessage({ id: m.id, leaves: out.buffer, buffer: m.giveBack ? m.buffer : undefined }, back);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.stack || e) });
  }
});
`;

interface Task {
  readonly id: number;
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
  /** Transfer (move) the buffer instead of cloning it; never for SharedArrayBuffer. */
  readonly transfer: boolean;
  /** Also the plain sha256 of the range (32 bytes after the leaves). */
  readonly plain: boolean;
  /** Move the (whole, transferred) buffer back with the reply. */
  readonly giveBack: boolean;
  resolve(reply: { leaves: Buffer; buffer: ArrayBuffer | undefined }): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
}

type WorkerReply = { id: number; leaves: ArrayBuffer; buffer?: ArrayBuffer } | { id: number; error: string };

export interface HashPoolOptions {
  /** Number of worker threads. @default max(1, min(4, availableParallelism() - 1)) */
  readonly size?: number;
}

export class HashPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;

  constructor(options: HashPoolOptions = {}) {
    const size = options.size ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    if (!Number.isSafeInteger(size) || size < 1) throw new UPowError("hash pool size must be a positive integer", { details: { size } });
    this.size = size;
  }

  /**
   * Chunk leaves of `length` bytes at `offset` in `buffer`; `offset` must be chunk-aligned relative to the
   * file. With `transfer`, an ArrayBuffer is moved to the worker (the caller must not use it again).
   */
  leaves(buffer: ArrayBuffer | SharedArrayBuffer, offset: number, length: number, transfer = false): Promise<Buffer> {
    return this.submit(buffer, offset, length, { transfer, plain: false, giveBack: false }).then((r) => r.leaves);
  }

  /**
   * Chunk leaves of a whole ArrayBuffer that is moved to a worker and back (no copy), optionally with
   * its plain sha256. `buffer` is detached until this resolves; use the returned one.
   */
  async lend(buffer: ArrayBuffer, plain: boolean): Promise<{ leaves: Buffer; sha256: Buffer | null; buffer: ArrayBuffer }> {
    const r = await this.submit(buffer, 0, buffer.byteLength, { transfer: true, plain, giveBack: true });
    const n = r.leaves.length - (plain ? 32 : 0);
    return { leaves: r.leaves.subarray(0, n), sha256: plain ? r.leaves.subarray(n) : null, buffer: r.buffer! };
  }

  private submit(
    buffer: ArrayBuffer | SharedArrayBuffer,
    offset: number,
    length: number,
    how: { transfer: boolean; plain: boolean; giveBack: boolean },
  ): Promise<{ leaves: Buffer; buffer: ArrayBuffer | undefined }> {
    if (this.closed) return Promise.reject(new HashPoolClosedError());
    return new Promise((resolve, reject) => {
      const isShared = typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
      const transfer = how.transfer && !isShared;
      this.queue.push({
        id: this.nextId++,
        buffer,
        offset,
        length,
        transfer,
        plain: how.plain,
        giveBack: how.giveBack && transfer,
        resolve,
        reject,
      });
      this.pump();
    });
  }

  /** Terminates the workers; queued tasks are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new HashPoolClosedError());
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.task === undefined);
      if (slot === undefined && this.slots.length < this.size) slot = this.spawn();
      if (slot === undefined) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage(
        { id: task.id, buffer: task.buffer, offset: task.offset, length: task.length, plain: task.plain, giveBack: task.giveBack },
        task.transfer ? [task.buffer as ArrayBuffer] : [],
      );
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: Slot = { worker, task: undefined };
    worker.unref();
    worker.on("message", (reply: WorkerReply) => {
      const task = slot.task;
      if (task === undefined || task.id !== reply.id) return;
      slot.task = undefined;
      worker.unref();
      if ("error" in reply) task.reject(new HashWorkerError("hash worker failed", { details: { error: reply.error } }));
      else task.resolve({ leaves: Buffer.from(reply.leaves), buffer: reply.buffer });
      this.pump();
    });
    const fail = (err: unknown): void => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.task?.reject(new HashWorkerError("hash worker died", { cause: err }));
      slot.task = undefined;
      if (!this.closed) this.pump();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (!this.closed) fail(new Error(`exit code ${code}`));
    });
    this.slots.push(slot);
    return slot;
  }
}

let shared: HashPool | undefined;

/** The process-wide default pool, created on first use. */
export function sharedHashPool(): HashPool {
  shared ??= new HashPool();
  return shared;
}
