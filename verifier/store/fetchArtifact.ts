/**
 * Fetches an artifact by hash from mirror URIs into the local store and returns its local path.
 * Rounds: every still-eligible mirror is tried in order; a transient failure (timeout, truncation,
 * network, 5xx/408/429) keeps the mirror for the next round, a permanent one (404, wrong bytes,
 * too large, bad URI, other 4xx) drops it. Between rounds the loop sleeps backoffMs·2^round
 * (capped). When nothing is left, ArtifactFetchFailedError lists every try and its cause.
 * With a URL policy, mirrors it refuses (V8.4) are recorded as failed without being tried.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ArtifactFetchFailedError, InvalidStoreOptionError, type FetchAttemptFailure } from "./errors";
import { assertArtifactHash } from "./hash";
import type { LocalStore } from "./localStore";
import { silentLogger, type Logger } from "./logger";
import { backoffDelay, isRetryable } from "./retry";
import { transferOnce } from "./transfer";
import { checkArtifactUrl, type ArtifactUrlPolicy } from "./urlPolicy";
import { UPowError } from "../errors";

export interface FetchArtifactParameters {
  /** sha256 of the wanted bytes, 64 lowercase hex. */
  hash: string;
  /** Mirrors, tried in this order: `http://`, `https://`, `file://`. */
  uris: readonly string[];
  /** Destination; also consulted first (a stored artifact is returned without any transfer). */
  store: LocalStore;
  /** Size limit in bytes, known in advance (e.g. from the manifest). */
  maxBytes: number;
  /** Limit on one try of one mirror. @default 60_000 */
  timeoutMs?: number;
  /** Limit on silence: waiting for the response, then between chunks. @default 10_000 */
  idleTimeoutMs?: number;
  /** Extra rounds after the first for mirrors that failed transiently. @default 3 */
  retries?: number;
  /** First backoff delay. @default 200 */
  backoffMs?: number;
  /** Backoff cap. @default 5_000 */
  maxBackoffMs?: number;
  /** @default silent */
  logger?: Logger;
  /**
   * Rules for URLs a job or result index names (http(s) only, public addresses unless allowed).
   * Undefined: the URIs are the operator's own (CLI), file:// and any address allowed.
   */
  urlPolicy?: ArtifactUrlPolicy;
}

/** Local path of the verified artifact. */
export type FetchArtifactReturnType = string;

export async function fetchArtifact(params: FetchArtifactParameters): Promise<FetchArtifactReturnType> {
  const hash = assertArtifactHash(params.hash);
  const { store, uris, maxBytes } = params;
  const timeoutMs = params.timeoutMs ?? 60_000;
  const idleTimeoutMs = params.idleTimeoutMs ?? 10_000;
  const retries = params.retries ?? 3;
  const backoffMs = params.backoffMs ?? 200;
  const maxBackoffMs = params.maxBackoffMs ?? 5_000;
  checkCount("maxBytes", maxBytes, 0);
  checkCount("timeoutMs", timeoutMs, 1);
  checkCount("idleTimeoutMs", idleTimeoutMs, 1);
  checkCount("retries", retries, 0);
  checkCount("backoffMs", backoffMs, 0);
  checkCount("maxBackoffMs", maxBackoffMs, 0);
  if (!Array.isArray(uris) || uris.length === 0 || !uris.every((u) => typeof u === "string")) {
    throw new InvalidStoreOptionError("uris", uris, "must be a non-empty list of URI strings");
  }
  const logger = (params.logger ?? silentLogger()).child({ component: "store-fetch", hash });

  if (await store.has(hash)) {
    logger.debug("artifact already stored");
    return store.path(hash);
  }

  const failures: FetchAttemptFailure[] = [];
  let eligible = [...uris];
  if (params.urlPolicy) {
    const policy = params.urlPolicy;
    eligible = uris.filter((uri) => {
      try {
        checkArtifactUrl(uri, policy);
        return true;
      } catch (error) {
        if (!(error instanceof UPowError)) throw error;
        failures.push({ uri, attempt: 0, error });
        logger.warn({ uri: uri.slice(0, 200), err: error.name, reason: error.shortMessage }, "artifact mirror refused by the URL policy");
        return false;
      }
    });
  }
  for (let round = 0; round <= retries && eligible.length > 0; round++) {
    if (round > 0) {
      const delay = backoffDelay(round - 1, backoffMs, maxBackoffMs);
      logger.info({ round, delay, mirrors: eligible.length }, "retrying artifact mirrors after backoff");
      await sleep(delay);
    }
    const next: string[] = [];
    for (const uri of eligible) {
      const started = Date.now();
      try {
        await transferOnce({ store, hash, uri, maxBytes, timeoutMs, idleTimeoutMs, urlPolicy: params.urlPolicy });
        logger.info({ uri, round, ms: Date.now() - started }, "artifact fetched");
        return store.path(hash);
      } catch (error) {
        if (!(error instanceof UPowError)) throw error; // local disk trouble etc.: not a mirror's fault
        failures.push({ uri, attempt: round, error });
        const retry = isRetryable(error);
        logger.warn({ uri, round, retry, err: error.name, reason: error.shortMessage }, "artifact mirror failed");
        if (retry) next.push(uri);
      }
    }
    eligible = next;
  }
  throw new ArtifactFetchFailedError(hash, failures);
}

function checkCount(option: string, value: unknown, min: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidStoreOptionError(option, value, `must be an integer >= ${min}`);
  }
}
