import type { Log, Provider } from "ethers";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import type { KeyValueStore } from "./journal";
import { collectErrorText } from "./rpc";

/**
 * Exactly-once, in-order delivery of contract logs up to `head − confirmations`, with a cursor
 * persisted in the journal's kv. Reorgs shallower than `confirmations` are invisible by
 * construction (those blocks are never read); a deeper one that rewrites the last scanned block
 * is detected and reported as `ReorgTooDeepError`. A stale head from the RPC only makes a poll
 * do less: the cursor never moves backwards, and a range is only read once the node serving it
 * has its last block.
 */

export interface EventFilter {
  address?: string | string[];
  topics?: Array<string | string[] | null>;
}

export interface EventCursorParameters {
  provider: Provider;
  kv: KeyValueStore;
  /** Cursor name; stored under kv key `cursor:<name>`. */
  name: string;
  filter: EventFilter;
  /** First block to scan when no cursor is stored yet (e.g. the deployment block). */
  startBlock: number;
  /** Only blocks ≤ head − confirmations are read. @default 2 */
  confirmations?: number;
  /** Blocks per getLogs call. @default 2_000 */
  chunkSize?: number;
  /** Never shrink below this. @default 1 */
  minChunkSize?: number;
  /** Called once per log, in (block, logIndex) order; the cursor moves only after it resolves. */
  handler: (log: Log) => Promise<void> | void;
  logger: Logger;
}

export interface CursorPosition {
  /** Every log in blocks ≤ scannedTo has been delivered. */
  scannedTo: number;
  /** Hash of block `scannedTo` when it was scanned (reorg check). */
  scannedHash: string | null;
  /** The last delivered log inside the chunk being processed (restart mid-chunk). */
  last: { block: number; index: number } | null;
}

export interface PollResult {
  delivered: number;
  scannedTo: number;
  /** The head the node reported for this poll. */
  head: number;
}

class EventCursorError extends UPowError {
  override readonly name: string = "EventCursorError";
}

/** The handler threw; the cursor stays before this log and the next poll retries it. */
export class EventHandlerError extends EventCursorError {
  override readonly name: string = "EventHandlerError";
}

/** The last scanned block changed hash: a reorg deeper than `confirmations`. */
export class ReorgTooDeepError extends EventCursorError {
  override readonly name: string = "ReorgTooDeepError";
}

/** getLogs still failed for "too many results" at `minChunkSize`. */
class LogRangeTooLargeError extends EventCursorError {
  override readonly name: string = "LogRangeTooLargeError";
}

const TOO_MANY =
  /more than \d+ results|too many (results|logs|blocks)|query returned more|limit exceeded|response size|range (is )?too (large|wide|big)|block range|exceed/i;

export class EventCursor {
  readonly #p: Required<EventCursorParameters>;
  readonly #key: string;
  #chunk: number;

  constructor(params: EventCursorParameters) {
    const p = { confirmations: 2, chunkSize: 2_000, minChunkSize: 1, ...params };
    for (const [name, v, min] of [
      ["confirmations", p.confirmations, 0],
      ["chunkSize", p.chunkSize, 1],
      ["minChunkSize", p.minChunkSize, 1],
      ["startBlock", p.startBlock, 0],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < min) {
        throw new EventCursorError(`${name} must be an integer ≥ ${min}`, { details: { [name]: v } });
      }
    }
    if (p.minChunkSize > p.chunkSize) throw new EventCursorError("minChunkSize > chunkSize");
    if (!p.name) throw new EventCursorError("cursor name is empty");
    this.#p = p;
    this.#key = `cursor:${p.name}`;
    this.#chunk = p.chunkSize;
  }

  /** The persisted position (before any poll: `startBlock − 1`). */
  position(): CursorPosition {
    const stored = this.#p.kv.get(this.#key);
    if (stored === undefined) return { scannedTo: this.#p.startBlock - 1, scannedHash: null, last: null };
    try {
      const parsed = JSON.parse(stored) as CursorPosition;
      if (!Number.isSafeInteger(parsed.scannedTo)) throw new Error("scannedTo");
      return parsed;
    } catch (cause) {
      throw new EventCursorError("stored cursor is corrupt", { cause, details: { key: this.#key } });
    }
  }

  /** Deliver every new log up to `head − confirmations`; safe to call repeatedly. */
  async poll(): Promise<PollResult> {
    const provider = this.#p.provider;
    let pos = this.position();
    const head = await provider.getBlockNumber();
    const target = head - this.#p.confirmations;
    let delivered = 0;
    if (target <= pos.scannedTo) return { delivered, scannedTo: pos.scannedTo, head };

    if (pos.scannedHash !== null) {
      const block = await provider.getBlock(pos.scannedTo);
      if (block === null) return { delivered, scannedTo: pos.scannedTo, head }; // node behind us
      if (block.hash !== pos.scannedHash) {
        throw new ReorgTooDeepError("scanned block changed: reorg deeper than the confirmation depth", {
          details: { cursor: this.#p.name, block: pos.scannedTo, was: pos.scannedHash, now: block.hash },
        });
      }
    }

    while (pos.scannedTo < target) {
      const from = pos.scannedTo + 1;
      const to = Math.min(target, from + this.#chunk - 1);
      // Pin the range end: a node that lacks block `to` would silently answer with fewer logs.
      const toBlock = await provider.getBlock(to);
      if (toBlock === null || toBlock.hash === null) {
        this.#p.logger.warn({ cursor: this.#p.name, to }, "node lacks the range end; retrying later");
        break;
      }
      let logs: Log[];
      try {
        logs = await provider.getLogs({ ...this.#p.filter, fromBlock: from, toBlock: to });
      } catch (err) {
        const text = collectErrorText(err);
        if (!TOO_MANY.test(text)) throw err;
        const span = to - from + 1;
        if (span <= this.#p.minChunkSize) {
          throw new LogRangeTooLargeError("getLogs range too large even at the minimum chunk", {
            cause: err,
            details: { cursor: this.#p.name, from, to },
          });
        }
        this.#chunk = Math.max(this.#p.minChunkSize, Math.floor(span / 2));
        this.#p.logger.info({ cursor: this.#p.name, from, to, chunk: this.#chunk }, "getLogs too large; shrinking chunk");
        continue;
      }
      logs = logs
        .filter((l) => !l.removed && l.blockNumber >= from && l.blockNumber <= to)
        .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
      for (const log of logs) {
        const last = pos.last;
        if (last && (log.blockNumber < last.block || (log.blockNumber === last.block && log.index <= last.index))) {
          continue; // delivered before a restart
        }
        try {
          await this.#p.handler(log);
        } catch (cause) {
          throw new EventHandlerError("event handler failed", {
            cause,
            details: { cursor: this.#p.name, block: log.blockNumber, logIndex: log.index, tx: log.transactionHash },
          });
        }
        pos = { ...pos, last: { block: log.blockNumber, index: log.index } };
        this.#save(pos);
        delivered++;
      }
      pos = { scannedTo: to, scannedHash: toBlock.hash, last: null };
      this.#save(pos);
      // Grow back after a shrink, so one dense range does not slow the rest of a backfill.
      if (this.#chunk < this.#p.chunkSize) this.#chunk = Math.min(this.#p.chunkSize, this.#chunk * 2);
    }
    return { delivered, scannedTo: pos.scannedTo, head };
  }

  /**
   * Poll every `intervalMs` until `signal` aborts; a failed poll is logged and retried (the
   * per-block loop keeps going), except `ReorgTooDeepError`, which needs an operator.
   */
  async run(options: { signal: AbortSignal; intervalMs?: number; onError?: (err: unknown) => void }): Promise<void> {
    const interval = options.intervalMs ?? 2_000;
    while (!options.signal.aborted) {
      try {
        await this.poll();
      } catch (err) {
        options.onError?.(err);
        if (err instanceof ReorgTooDeepError) throw err;
        this.#p.logger.warn({ cursor: this.#p.name, err: collectErrorText(err) }, "event poll failed; retrying");
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, interval);
        function done() {
          clearTimeout(timer);
          options.signal.removeEventListener("abort", done);
          resolve();
        }
        options.signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  #save(pos: CursorPosition): void {
    this.#p.kv.put(this.#key, JSON.stringify(pos));
  }
}
