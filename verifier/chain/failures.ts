import type { Logger } from "pino";
import { classifyFailure, type FailureClass } from "./failurePolicy";

/**
 * Repeated failures of transaction intents (purpose + key): exponential back-off from the poll
 * interval up to a cap, a warning for the first failures and an error once they persist, and the
 * stale ones (failurePolicy `superseded`) held back for `supersededHoldMs` and then simulated once
 * more. Not for good: a reopened job (v3 V2.3) or an appeal's new round can make the same intent
 * (same purpose and key) valid again, and a daemon running for weeks must not miss it until a
 * restart. Per-purpose streaks feed /healthz.
 */

export interface FailureTrackerParameters {
  /** First back-off (the daemon's poll interval). */
  baseDelayMs: number;
  /** @default 300_000 (5 min) */
  maxDelayMs?: number;
  /** How long a superseded intent is held back before it is simulated again. @default maxDelayMs */
  supersededHoldMs?: number;
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
  | { kind: "go" }
  | { kind: "superseded"; reason: string }
  | { kind: "backoff"; untilMs: number; failures: number; reason: string };

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
    const maxDelayMs = params.maxDelayMs ?? 300_000;
    this.#p = { maxDelayMs, supersededHoldMs: maxDelayMs, escalateAfter: 5, now: Date.now, ...params };
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
      const again = this.#intents.get(key)?.superseded === true;
      this.#intents.set(key, { failures: 0, untilMs: this.#p.now() + this.#p.supersededHoldMs, reason, superseded: true });
      this.#p.onFailure?.(intent.purpose, errorName ?? "error");
      this.#purposes.delete(intent.purpose); // not a fault of this node
      // Logged once; the periodic re-check that finds it still superseded is not news.
      if (again) log.debug({ reason }, "still superseded");
      else log.info({ reason, recheckInMs: this.#p.supersededHoldMs }, "superseded: someone else did it or its window closed; dropping this transaction");
      return cls;
    }
    if (cls === "early") {
      log.debug({ reason }, "too early; trying again on a later poll");
      return cls;
    }
    const prev = this.#intents.get(key);
    const failures = (prev?.failures ?? 0) + 1;
    const delay = Math.min(this.#p.maxDelayMs, this.#p.baseDelayMs * 2 ** Math.min(failures - 1, 30));
    this.#intents.set(key, { failures, untilMs: this.#p.now() + delay, reason, superseded: false });
    const streak = (this.#purposes.get(intent.purpose)?.streak ?? 0) + 1;
    this.#purposes.set(intent.purpose, { streak, lastReason: reason });
    this.#p.onFailure?.(intent.purpose, errorName ?? "error");
    const fields = { reason, failuresInARow: failures, purposeFailuresInARow: streak, retryInMs: delay };
    // Per purpose too: intents keyed per block (withdrawals) fail once each, yet keep failing.
    if (Math.max(failures, streak) >= this.#p.escalateAfter) log.error(fields, "transaction keeps failing; operator action needed (docs: errors a daemon logs)");
    else log.warn(fields, "transaction failed; backing off");
    return cls;
  }

  #prune(): void {
    if (this.#intents.size <= PRUNE_ABOVE) return;
    const now = this.#p.now();
    // An expired superseded entry is kept only while young enough to suppress a repeated info log.
    for (const [k, s] of this.#intents) if (now >= s.untilMs + this.#p.supersededHoldMs) this.#intents.delete(k);
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
