/**
 * Monte-Carlo audits of one job (issue item 7): seats hostile with probability h (drawn with
 * replacement by stake, v3 V3.4); each honest seat samples s distinct intervals uniformly (as
 * AuditManager.sampleOf does) and checks either one uniformly drawn step of each (single-step) or all
 * its steps (replay). Shared by bench/detection.ts and the plan's tests; deterministic (Sha256Prng).
 */
import type { AuditCheckKind } from "../../verifier/daemon/audit/plan";
import { Sha256Prng } from "../../verifier/engine/prng";

export interface SimulatedPlan {
  readonly seats: number;
  readonly samplesPerSeat: number;
  readonly check: AuditCheckKind;
}

/** True iff some honest seat checks a faked step; `faked[step]` = 1 marks the cheater's steps. */
function simulateAudit(rng: Sha256Prng, plan: SimulatedPlan, faked: Uint8Array, k: number, h: number): boolean {
  const intervals = faked.length / k;
  for (let seat = 0; seat < plan.seats; seat++) {
    if (rng.below(1_000_000) < h * 1_000_000) continue;
    const seen = new Set<number>();
    while (seen.size < Math.min(plan.samplesPerSeat, intervals)) {
      const i = rng.below(intervals);
      if (seen.has(i)) continue;
      seen.add(i);
      if (plan.check === "single-step") {
        if (faked[i * k + rng.below(k)] === 1) return true;
      } else if (faked.subarray(i * k, (i + 1) * k).includes(1)) return true;
    }
  }
  return false;
}

/** Share of `trials` audits that catch nothing. */
export function missRate(plan: SimulatedPlan, faked: Uint8Array, k: number, h: number, trials: number, seed: number): number {
  const rng = new Sha256Prng(Uint8Array.of(seed & 0xff, seed >> 8), "upow.audit-plan.sim");
  let missed = 0;
  for (let t = 0; t < trials; t++) if (!simulateAudit(rng, plan, faked, k, h)) missed++;
  return missed / trials;
}

export type Arrangement = "wholeIntervals" | "spread" | "randomSteps";

/**
 * A fraction f of T = n·k steps faked three ways: whole intervals (distinct, spread over the job),
 * evenly within every interval (g_i = f: the single-step checks' worst case), or uniformly random steps.
 */
export function arrangements(n: number, k: number, f: number): Record<Arrangement, Uint8Array> {
  const t = n * k;
  const whole = new Uint8Array(t);
  const wholeCount = Math.round(f * n);
  for (let i = 0; i < wholeCount; i++) {
    const at = Math.floor((i * n) / wholeCount);
    whole.fill(1, at * k, (at + 1) * k);
  }
  const spread = new Uint8Array(t);
  const perInterval = Math.round(f * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < perInterval; j++) spread[i * k + Math.floor((j * k) / perInterval)] = 1;
  const random = new Uint8Array(t);
  const rng = new Sha256Prng(Uint8Array.of(99), "upow.audit-plan.fakes");
  for (let placed = 0; placed < Math.round(f * t);) {
    const j = rng.below(t);
    if (random[j] === 0) {
      random[j] = 1;
      placed++;
    }
  }
  return { wholeIntervals: whole, spread, randomSteps: random };
}
