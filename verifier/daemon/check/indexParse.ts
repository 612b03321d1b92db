/**
 * Reads result-index bytes off the event loop (v3 V1.4, V8.3): an index of tens of MiB takes
 * seconds to parse and hash, which would stall every other job and dispute of the daemon. Small
 * indexes are read inline (a thread costs more than they do). The thread loads the same module
 * (committedIndex.ts, through ts-node when the daemon runs from sources).
 */
import { Worker } from "node:worker_threads";
import { CheckpointsUnverifiableError, readCommittedIndex, type CommittedIndex, type CommittedJob } from "../../protocol/committedIndex";
import { VerifierDaemonError } from "../errors";

/** The parsing thread failed for a reason of ours (it could not start, it crashed). */
export class IndexParseThreadError extends VerifierDaemonError {
  override readonly name: string = "IndexParseThreadError";
}

/** Indexes from this size on are read in a worker thread. */
export const OFF_THREAD_BYTES = 1 << 20;

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
if (workerData.typescript) require("ts-node").register({ transpileOnly: true });
const { readCommittedIndex } = require(workerData.module);
try {
  parentPort.postMessage({ ok: readCommittedIndex(Buffer.from(workerData.bytes), workerData.job) });
} catch (e) {
  parentPort.postMessage({ error: { name: String(e && e.name), message: String(e && (e.shortMessage || e.message)), details: e && e.details } });
}
`;

type Reply = { ok: CommittedIndex } | { error: { name: string; message: string; details?: Record<string, unknown> } };

export interface ParseIndexOptions {
  /** @default OFF_THREAD_BYTES */
  offThreadBytes?: number;
  /** Called once per parse actually made (tests count them). */
  onParse?: (where: "inline" | "thread") => void;
}

export async function parseCommittedIndex(bytes: Buffer, job: CommittedJob, options: ParseIndexOptions = {}): Promise<CommittedIndex> {
  if (bytes.length < (options.offThreadBytes ?? OFF_THREAD_BYTES)) {
    options.onParse?.("inline");
    return readCommittedIndex(bytes, job);
  }
  options.onParse?.("thread");
  const module = require.resolve("../../protocol/committedIndex");
  const reply = await new Promise<Reply>((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { bytes, job, module, typescript: module.endsWith(".ts") } });
    let settled = false;
    w.once("message", (m: Reply) => {
      settled = true;
      resolve(m);
      void w.terminate();
    });
    w.once("error", (err) => {
      settled = true;
      reject(new IndexParseThreadError("result index parsing thread failed", { cause: err }));
    });
    w.once("exit", (code) => {
      if (!settled) reject(new IndexParseThreadError("result index parsing thread exited without an answer", { details: { code } }));
    });
  });
  if ("ok" in reply) return reply.ok;
  if (reply.error.name === "CheckpointsUnverifiableError") {
    throw new CheckpointsUnverifiableError(reply.error.message.replace(/^result index: /, ""), reply.error.details);
  }
  throw new IndexParseThreadError(`result index parsing thread threw: ${reply.error.message}`, { details: { name: reply.error.name } });
}
