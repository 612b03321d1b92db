/**
 * The worker's result index as this daemon judges it (v3 V1.4), one verdict per content address:
 * `committed` (the checkpoints rebuild the on-chain root; intervals that do not hold together are
 * listed as failed) or `unverifiable` (bytes that are no index, checkpoints that do not rebuild the
 * root, or an index nobody served within the grace period): then the verifier demands the leaves on
 * chain instead of asking again. A verdict is reached once and kept; fetches that fail on the way
 * are retried with exponential backoff, never on every tick.
 */
import { CheckpointsUnverifiableError, type CommittedIndex, type CommittedJob } from "../../protocol/committedIndex";
import { VerifierDaemonError, ArtifactProblemError } from "../errors";
import { splitArtifactUri, type ArtifactClient } from "./artifacts";
import { unreachableVerdict, type UnservedPolicy } from "./audit";
import { parseCommittedIndex, type ParseIndexOptions } from "./indexParse";
import type { Hash } from "../../protocol/hashing";

export type IndexVerdict =
  { readonly kind: "committed"; readonly committed: CommittedIndex } | { readonly kind: "unverifiable"; readonly reason: string };

/** No verdict yet: the index could not be fetched and the grace period is not over (asked again after `retryAtMs`). */
export class IndexPendingError extends VerifierDaemonError {
  override readonly name: string = "IndexPendingError";
}

/** The job's index was judged unverifiable: what needs it must come from the chain. */
export class IndexUnverifiableError extends VerifierDaemonError {
  override readonly name: string = "IndexUnverifiableError";
}

export interface IndexJobTerms {
  resultURI: string;
  jobId: bigint;
  checkpointRoot: Hash;
  totalSteps: bigint;
  checkpointInterval: bigint;
}

export interface ResultIndexCacheParameters {
  client: ArtifactClient;
  /** When an index no mirror delivers counts as not served. */
  unserved: UnservedPolicy;
  /** First retry delay after a failed fetch; doubles up to `maxBackoffMs`. @default 500 */
  backoffMs?: number;
  /** @default 60_000 */
  maxBackoffMs?: number;
  /** @default 64 MiB */
  maxBytes?: number;
  parse?: ParseIndexOptions;
  /** Verdicts kept (a parsed index can take hundreds of MB); the oldest is dropped, and judged again from the local store if asked. @default 32 */
  maxEntries?: number;
  now?: () => number;
}

interface Failures {
  firstAtMs: number;
  attempts: number;
  retryAtMs: number;
}

export class ResultIndexCache {
  readonly #p: ResultIndexCacheParameters;
  readonly #verdicts = new Map<string, IndexVerdict>();
  readonly #pending = new Map<string, Promise<IndexVerdict>>();
  readonly #failures = new Map<string, Failures>();

  constructor(params: ResultIndexCacheParameters) {
    this.#p = params;
  }

  /** The verdict on a job's index; IndexPendingError while a failed fetch waits for its retry. */
  async verdict(t: IndexJobTerms): Promise<IndexVerdict> {
    // The same bytes judged against another job's commitments are another verdict.
    const key = `${t.resultURI}|${t.jobId}|${t.checkpointRoot.toLowerCase()}|${t.totalSteps}|${t.checkpointInterval}`;
    const known = this.#verdicts.get(key);
    if (known) {
      this.#verdicts.delete(key); // most recently used last
      this.#verdicts.set(key, known);
      return known;
    }
    const running = this.#pending.get(key);
    if (running) return running;
    const p = this.#judge(key, t).finally(() => this.#pending.delete(key));
    this.#pending.set(key, p);
    return p;
  }

  async #judge(key: string, t: IndexJobTerms): Promise<IndexVerdict> {
    const now = this.#p.now ?? Date.now;
    const f = this.#failures.get(key);
    if (f && now() < f.retryAtMs) {
      throw new IndexPendingError("result index not fetched yet; retry pending", {
        details: { jobId: t.jobId, attempts: f.attempts, retryInMs: f.retryAtMs - now() },
      });
    }
    const parts = splitArtifactUri(t.resultURI);
    if (!parts) return this.#keep(key, { kind: "unverifiable", reason: "resultURI is not <base>/artifacts/<sha256>" });
    let bytes: Buffer;
    try {
      bytes = await this.#p.client.fetchUri(t.resultURI, "result index", this.#p.maxBytes ?? 64 << 20);
    } catch (err) {
      if (!(err instanceof ArtifactProblemError)) throw err;
      if (!err.transient) return this.#keep(key, { kind: "unverifiable", reason: err.shortMessage });
      const at = now();
      const attempts = (f?.attempts ?? 0) + 1;
      const firstAtMs = f?.firstAtMs ?? at;
      if (unreachableVerdict({ firstAtMs, attempts }, at, this.#p.unserved) === "fail") {
        return this.#keep(key, { kind: "unverifiable", reason: `not served: ${err.shortMessage}` });
      }
      const delay = Math.min(this.#p.maxBackoffMs ?? 60_000, (this.#p.backoffMs ?? 500) * 2 ** (attempts - 1));
      this.#failures.set(key, { firstAtMs, attempts, retryAtMs: at + delay });
      throw new IndexPendingError(`result index could not be fetched: ${err.shortMessage}`, {
        cause: err,
        details: { jobId: t.jobId, attempts, retryInMs: delay },
      });
    }
    const job: CommittedJob = {
      jobId: t.jobId,
      checkpointRoot: t.checkpointRoot,
      totalSteps: Number(t.totalSteps),
      checkpointInterval: Number(t.checkpointInterval),
      fallbackBaseUrl: parts.base,
    };
    try {
      return this.#keep(key, { kind: "committed", committed: await parseCommittedIndex(bytes, job, this.#p.parse) });
    } catch (err) {
      if (!(err instanceof CheckpointsUnverifiableError)) throw err;
      return this.#keep(key, { kind: "unverifiable", reason: err.shortMessage });
    }
  }

  #keep(key: string, v: IndexVerdict): IndexVerdict {
    this.#verdicts.set(key, v);
    if (this.#verdicts.size > (this.#p.maxEntries ?? 32)) this.#verdicts.delete(this.#verdicts.keys().next().value!);
    this.#failures.delete(key);
    return v;
  }
}
