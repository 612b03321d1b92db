import type { Logger } from "pino";
import { classifyFailure, type FailureClass } from "./failurePolicy";

/**
 * Repeated failures of transaction intents (purpose + key): exponential back-off from the poll
 * interval up to a cap, a warning for the first failures and an error once they persist. The stale
 * ones (failurePolicy `superseded`: done by someone else, or the state moved on) are held back on
 * the same doubling schedule, logged once at info and never counted as faults. Not dropped for
 * good: several of those errors (WrongPhase, WrongStatus) also mean "not yet" when the daemon's
 * view trails the head, and a reopened job (v3 V2.3) or an appeal round can make the same intent
 * valid again; a doubling hold stops the every-poll retries and still retries soon after a change.
 * Per-purpose streaks feed /healthz.
 */

export interface FailureTrackerParameters {
  /** First back-off (the daemon's poll interval). */
  baseDelayMs: number;
  /** @default 300_000 (5 min) */
  maxDelayMs?: number;
  /** Failures in a row after which they are logged as errors and /healthz fails. @default 5 */
  escalateAfter?: number;
  /** @default Date.now */
  now?: () => number;
  /** Each counted failure (metrics: upow_tx_failures_total{purpose,reason}). */
  onFailure?: (purpose: string, reason: string) => void;
}

export interface FailedIntent {
  purpose: string;
  key: string;
}

/** What to do with an intent now. */
export type Gate =
  { kind: "go" } | { kind: "superseded"; reason: string } | { kind: "backoff"; untilMs: number; failures: number; reason: string };

/** A purpose whose intents failed `escalateAfter` times or more in a row. */
export interface FailingPurpose {
  purpose: string;
  failuresInARow: number;
  lastReason: string;
}

interface IntentState {
  failures: number;
  untilMs: number;
  reason: string;
  superseded: boolean;
}

/** Past this many tracked intents, expired entries are pruned (daemons run for weeks). */
const PRUNE_ABOVE = 4096;

export class FailureTracker {
  readonly #p: Required<Omit<FailureTrackerParameters, "onFailure">> & Pick<FailureTrackerParameters, "onFailure">;
  readonly #intents = new Map<string, IntentState>();
  readonly #purposes = new Map<string, { streak: number; lastReason: string }>();

  constructor(params: FailureTrackerParameters) {
    this.#p = { maxDelayMs: 300_000, escalateAfter: 5, now: Date.now, ...params };
  }

  gate(intent: FailedIntent): Gate {
    const s = this.#intents.get(id(intent));
    if (!s) return { kind: "go" };
    if (this.#p.now() >= s.untilMs) return { kind: "go" };
    if (s.superseded) return { kind: "superseded", reason: s.reason };
    return { kind: "backoff", untilMs: s.untilMs, failures: s.failures, reason: s.reason };
  }

  succeeded(intent: FailedIntent): void {
    this.#intents.delete(id(intent));
    this.#purposes.delete(intent.purpose);
  }

  /**
   * Record a failure and log it at the right level. `errorName`: the revert's custom-error name,
   * else the error's class name (it is the `reason` label of the failure counter).
   */
  failed(intent: FailedIntent, reason: string, errorName: string | undefined, log: Logger): FailureClass {
    const cls = classifyFailure(errorName);
    const key = id(intent);
    this.#prune();
    if (cls === "superseded") {
      const prev = this.#intents.get(key);
      const holds = prev?.superseded === true ? prev.failures + 1 : 1;
      const delay = this.#delay(holds);
      this.#intents.set(key, { failures: holds, untilMs: this.#p.now() + delay, reason, superseded: true });
      this.#p.onFailure?.(intent.purpose, errorName ?? "error");
      this.#purposes.delete(intent.purpose); // not a fault of this node
      // Logged once; a re-check that finds it still superseded is not news.
      if (holds > 1) log.debug({ reason, recheckInMs: delay }, "still superseded");
      else log.info({ reason, recheckInMs: delay }, "superseded: someone else did it or its window closed; holding this transaction back");
      return cls;
    }
    if (cls === "early") {
      log.debug({ reason }, "too early; trying again on a later poll");
      return cls;
    }
    const prev = this.#intents.get(key);
    const failures = (prev?.failures ?? 0) + 1;
    const delay = this.#delay(failures);
    this.#intents.set(key, { failures, untilMs: this.#p.now() + delay, reason, superseded: false });
    const streak = (this.#purposes.get(intent.purpose)?.streak ?? 0) + 1;
    this.#purposes.set(intent.purpose, { streak, lastReason: reason });
    this.#p.onFailure?.(intent.purpose, errorName ?? "error");
    const fields = { reason, failuresInARow: failures, purposeFailuresInARow: streak, retryInMs: delay };
    // Per purpose too: intents keyed per block (withdrawals) fail once each, yet keep failing.
    if (Math.max(failures, streak) >= this.#p.escalateAfter)
      log.error(fields, "transaction keeps failing; operator action needed (docs: errors a daemon logs)");
    else log.warn(fields, "transaction failed; backing off");
    return cls;
  }

  /** base · 2^(n−1), capped. */
  #delay(n: number): number {
    return Math.min(this.#p.maxDelayMs, this.#p.baseDelayMs * 2 ** Math.min(n - 1, 30));
  }

  #prune(): void {
    if (this.#intents.size <= PRUNE_ABOVE) return;
    const now = this.#p.now();
    // An expired entry is kept a while after its hold, to remember its streak (and its one info log).
    for (const [k, s] of this.#intents) if (now >= s.untilMs + this.#p.maxDelayMs) this.#intents.delete(k);
  }

  /** Purposes failing `escalateAfter` times or more in a row (for /healthz). */
  failingPurposes(): FailingPurpose[] {
    return [...this.#purposes]
      .filter(([, s]) => s.streak >= this.#p.escalateAfter)
      .map(([purpose, s]) => ({ purpose, failuresInARow: s.streak, lastReason: s.lastReason }));
  }
}

function id(i: FailedIntent): string {
  return `${i.purpose}\u0000${i.key}`;
}
