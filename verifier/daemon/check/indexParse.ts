/**
 * Reads result-index bytes off the event loop (v3 V1.4, V8.3): an index of tens of MiB takes
 * seconds to parse and hash, which would stall every other job and dispute of the daemon. Small
 * indexes are read inline (a thread costs more than they do). The thread loads the same module
 * (committedIndex.ts, through ts-node when the daemon runs from sources).
 */
import { Worker } from "node:worker_threads";
import { CheckpointsUnverifiableError, readCommittedIndex, type CommittedIndex, type CommittedJob } from "../../protocol/committedIndex";
import type { IndexedInterval, ResultIndex } from "../../protocol/resultIndex";
import { VerifierDaemonError } from "../errors";

/** The parsing thread failed for a reason of ours (it could not start, it crashed). */
class IndexParseThreadError extends VerifierDaemonError {
  override readonly name: string = "IndexParseThreadError";
}

/** Indexes from this size on are read in a worker thread. */
const OFF_THREAD_BYTES = 1 << 20;

/**
 * The result goes back in slices of about STATES_PER_MESSAGE states: each message is deserialized
 * on the daemon's thread, and one message of a 60 MiB index's 400k states would block it for
 * seconds; between slices the event loop runs.
 */
const STATES_PER_MESSAGE = 4_000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
if (workerData.typescript) require("ts-node").register({ transpileOnly: true });
const { readCommittedIndex } = require(workerData.module);
let r;
try {
  r = readCommittedIndex(Buffer.from(workerData.bytes), workerData.job);
} catch (e) {
  parentPort.postMessage({ error: { name: String(e && e.name), message: String(e && (e.shortMessage || e.message)), details: e && e.details } });
}
if (r) {
  // One slice per request: queued messages would all be delivered in one turn of the daemon's loop.
  const { intervals, ...head } = r.index;
  const per = Math.max(1, Math.floor(${STATES_PER_MESSAGE} / (r.index.k + 1)));
  let next = 0;
  parentPort.on("message", () => {
    if (next >= intervals.length) return parentPort.postMessage({ done: true });
    parentPort.postMessage({ intervals: intervals.slice(next, next + per) });
    next += per;
  });
  parentPort.postMessage({ head: { ...head, intervals: [] }, failed: r.failed });
}
`;

type Reply =
  | { head: ResultIndex; failed: CommittedIndex["failed"] }
  | { intervals: IndexedInterval[] }
  | { done: true }
  | { error: { name: string; message: string; details?: Record<string, unknown> } };

export interface ParseIndexOptions {
  /** @default OFF_THREAD_BYTES */
  offThreadBytes?: number;
  /** Called once per parse actually made (tests count them). */
  onParse?: (where: "inline" | "thread") => void;
}

/** Reads `bytes` (inline, or moved to a thread: do not use them afterwards). */
export async function parseCommittedIndex(bytes: Buffer, job: CommittedJob, options: ParseIndexOptions = {}): Promise<CommittedIndex> {
  if (bytes.length < (options.offThreadBytes ?? OFF_THREAD_BYTES)) {
    options.onParse?.("inline");
    return readCommittedIndex(bytes, job);
  }
  options.onParse?.("thread");
  const module = require.resolve("../../protocol/committedIndex");
  // Moved to the thread, not copied (a 60 MiB copy alone stalls the loop for hundreds of ms): a
  // Buffer that owns its whole ArrayBuffer (any large file read) is detached here.
  const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const copy = owned ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
  const reply = await new Promise<Extract<Reply, { head: ResultIndex } | { error: unknown }>>((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bytes: copy, job, module, typescript: module.endsWith(".ts") },
      transferList: [copy.buffer],
    });
    let settled = false;
    let head: { head: ResultIndex; failed: CommittedIndex["failed"] } | undefined;
    const intervals: IndexedInterval[] = [];
    w.on("message", (m: Reply) => {
      if ("head" in m || "intervals" in m) {
        if ("head" in m) head = m;
        else for (const r of m.intervals) intervals.push(r);
        setImmediate(() => w.postMessage("next"));
        return;
      }
      settled = true;
      void w.terminate();
      if ("error" in m) resolve(m);
      else if (head) resolve({ head: { ...head.head, intervals }, failed: head.failed });
      else reject(new IndexParseThreadError("result index parsing thread finished without a result"));
    });
    w.once("error", (err) => {
      settled = true;
      reject(new IndexParseThreadError("result index parsing thread failed", { cause: err }));
    });
    w.once("exit", (code) => {
      if (!settled) reject(new IndexParseThreadError("result index parsing thread exited without an answer", { details: { code } }));
    });
  });
  if ("head" in reply) return { index: reply.head, failed: reply.failed };
  if (reply.error.name === "CheckpointsUnverifiableError") {
    throw new CheckpointsUnverifiableError(reply.error.message.replace(/^result index: /, ""), reply.error.details);
  }
  throw new IndexParseThreadError(`result index parsing thread threw: ${reply.error.message}`, { details: { name: reply.error.name } });
}
