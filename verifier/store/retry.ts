/** Pure retry policy of fetchArtifact: which failures deserve another try, and how long to wait. */
import { ArtifactHttpError, ArtifactNetworkError, ArtifactTimeoutError, ArtifactTruncatedError } from "./errors";

/**
 * Transient failures are retried on the same mirror; the rest (not found, wrong bytes, too large,
 * unsupported URI, 4xx) are a property of that mirror, so the loop moves on to the next one.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ArtifactTimeoutError || error instanceof ArtifactTruncatedError || error instanceof ArtifactNetworkError) {
    return true;
  }
  if (error instanceof ArtifactHttpError) {
    return error.status >= 500 || error.status === 408 || error.status === 429;
  }
  return false;
}

/** Delay before retry round `round` (0-based): backoffMs·2^round, capped at maxBackoffMs. */
export function backoffDelay(round: number, backoffMs: number, maxBackoffMs: number): number {
  return Math.min(maxBackoffMs, backoffMs * 2 ** round);
}
