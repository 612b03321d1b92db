/**
 * The audit plan of a job (issue item 7; docs/verifier.md "Audit plan"): how many auditor seats `A`,
 * how many intervals `s` each seat samples (AuditManager.sampleOf), and what a seat does with each
 * sampled interval — replay its `k` steps, or check one step of it (claimed `S_j` → claimed
 * `S_{j+1}`, the single-step rule, v3 V7.1/V7.2) — so that the honest seats catch a worker faking a
 * fraction `f` of its steps, or of its whole intervals, with probability ≥ `target` while the seats
 * re-execute at most `maxFlopsFraction` of the training FLOPs.
 *
 * Closed form (derivation in docs/verifier.md). A seat is hostile with probability `h` (seats are
 * drawn with replacement by stake, v3 V3.4) and then checks nothing. An honest seat samples `s`
 * distinct intervals; whatever the faked set `F` (|F| = f·T steps, arranged in any way), it misses
 * with probability at most `(1 − f)^s` for either kind of check: one uniformly drawn step of a
 * sampled interval is faked with probability `g_i` (the interval's faked share), a replay catches the
 * interval whenever `g_i > 0`, and `E[∏(1 − g_i)]` over `s` distinct intervals with `Σ g_i = f·n` is at
 * most `(1 − f)^s` (Maclaurin's inequality; equality when every `g_i = f`). Hence
 *     P(caught) ≥ 1 − [h + (1 − h)(1 − f)^s]^A,
 * which needs `h^A < 1 − target` (A ≥ 6 for h = 0.3, target 99.9 %) and then
 *     s = ⌈ln((ε^{1/A} − h)/(1 − h)) / ln(1 − f)⌉,  ε = 1 − target.
 * The plan takes the (A, s) of least total cost `A·s·cost(check)`, fewest seats on a tie. Both kinds
 * of check have the same worst case, so a single-step check (1 step + 2 states) is never worse; a
 * replay (k steps + 2 states) is chosen only where it fits the FLOP budget and costs at most
 * `replayCostFactor` × a single-step check (states large next to a step): it also catches scattered
 * fakes almost surely (1 − (1 − f)^k per interval) and never lets an honest attester miss a faked
 * interval of its sample (V11.2's `missPenalty`).
 *
 * Pure: no I/O, no clocks.
 */
import { VerifierDaemonError } from "../errors";

/** JobMarket.MAX_AUDITORS and MAX_SAMPLES: the on-chain caps on `A` and `s`. */
const MAX_SEATS = 32;
const MAX_SAMPLES_PER_SEAT = 32;

export interface AuditPlanParameters {
  /** Steps of the job, T. */
  totalSteps: number;
  /** Steps per interval, k (T % k = 0). */
  stepsPerInterval: number;
  /** FLOPs of one training step (manifest, V8). */
  flopsPerStep: number;
  /** Bytes of one state (manifest, V8). */
  stateBytes: number;
  /** What fetching one byte costs in FLOPs: JobMarket `refFlopsPerSecond / refBytesPerSecond`. */
  flopsPerByte: number;
  /** Faked fraction of steps or of whole intervals to catch. @default 0.1 */
  fakedFraction?: number;
  /** Share of seats assumed hostile (JobMarket `hostileAuditorBps / 10⁴`). @default 0.3 */
  hostileFraction?: number;
  /** Least probability that some honest seat catches the fake. @default 0.999 */
  target?: number;
  /** Most re-executed FLOPs, all seats together, as a fraction of the job's. @default 0.02 */
  maxFlopsFraction?: number;
  /** A replay is chosen only if it costs at most this many single-step checks (fetches included). @default 2 */
  replayCostFactor?: number;
  /** @default MAX_SEATS */
  maxSeats?: number;
  /** @default MAX_SAMPLES_PER_SEAT */
  maxSamplesPerSeat?: number;
}

export type AuditCheckKind = "single-step" | "replay";

export interface AuditPlan {
  /** Auditor seats A (governance: JobMarket `auditorsPerJob`). */
  seats: number;
  /** Intervals per seat s (governance: JobMarket `samplesPerAuditor`). */
  samplesPerSeat: number;
  /** What a seat does with each sampled interval. */
  check: AuditCheckKind;
  /** Steps re-executed per sampled interval: 1 or k. */
  stepsPerCheck: number;
  /** Closed-form lower bound 1 − [h + (1 − h)(1 − f)^s]^A. */
  detection: number;
  /** A·s·stepsPerCheck / T. */
  flopsFraction: number;
  /** Bytes all seats fetch: A·s·2·stateBytes. */
  fetchedBytes: number;
  /** A·s·(stepsPerCheck·flopsPerStep + 2·stateBytes·flopsPerByte) / (T·flopsPerStep). */
  costFraction: number;
}

/** No plan meets the target within the caps; `details.reason` names the constraint that fails. */
export class AuditPlanInfeasibleError extends VerifierDaemonError {
  override readonly name: string = "AuditPlanInfeasibleError";
}

/** §10.9's P(f): probability that at least one honest seat catches a fake of fraction f. */
export function detectionProbability(p: { seats: number; samplesPerSeat: number; fakedFraction: number; hostileFraction: number }): number {
  const { seats: a, samplesPerSeat: s, fakedFraction: f, hostileFraction: h } = p;
  return 1 - (h + (1 - h) * (1 - f) ** s) ** a;
}

/** Least s with detectionProbability ≥ target for `seats` seats; null if no s can reach it (h^A ≥ ε). */
export function minimumSamples(seats: number, fakedFraction: number, hostileFraction: number, target: number): number | null {
  const perSeatMiss = ((1 - target) ** (1 / seats) - hostileFraction) / (1 - hostileFraction);
  if (perSeatMiss <= 0) return null;
  if (perSeatMiss >= 1) return 0;
  let s = Math.max(0, Math.ceil(Math.log(perSeatMiss) / Math.log(1 - fakedFraction)));
  // The logarithms may round either way at the boundary: settle it on the probability itself.
  while (s > 0 && detectionProbability({ seats, samplesPerSeat: s - 1, fakedFraction, hostileFraction }) >= target) s--;
  while (detectionProbability({ seats, samplesPerSeat: s, fakedFraction, hostileFraction }) < target) s++;
  return s;
}

export function auditPlan(p: AuditPlanParameters): AuditPlan {
  const f = p.fakedFraction ?? 0.1;
  const h = p.hostileFraction ?? 0.3;
  const target = p.target ?? 0.999;
  const budget = p.maxFlopsFraction ?? 0.02;
  const replayFactor = p.replayCostFactor ?? 2;
  const maxSeats = p.maxSeats ?? MAX_SEATS;
  const maxSamples = p.maxSamplesPerSeat ?? MAX_SAMPLES_PER_SEAT;
  validate(p, { f, h, target, budget, replayFactor, maxSeats, maxSamples });
  const { totalSteps: t, stepsPerInterval: k } = p;
  const intervals = t / k;
  const fetchSteps = (2 * p.stateBytes * p.flopsPerByte) / p.flopsPerStep;
  const costOf = (steps: number) => steps + fetchSteps; // one check, in steps of training

  let best: { seats: number; s: number } | null = null;
  for (let a = 1; a <= maxSeats; a++) {
    const s = minimumSamples(a, f, h, target);
    if (s === null || s > maxSamples || s > intervals) continue;
    if (best === null || a * s < best.seats * best.s) best = { seats: a, s };
  }
  if (best === null) {
    const reason =
      h ** maxSeats >= 1 - target
        ? `hostile share ${h} over at most ${maxSeats} seats leaves h^A ≥ ${1 - target}`
        : `needs more than ${Math.min(maxSamples, intervals)} samples per seat (caps: ${maxSamples} on chain, ${intervals} intervals)`;
    throw new AuditPlanInfeasibleError(`no audit plan reaches detection ${target}: ${reason}`, {
      details: { reason, fakedFraction: f, hostileFraction: h, maxSeats, maxSamples, intervals },
    });
  }
  const checks = best.seats * best.s;
  const replayFits = (checks * k) / t <= budget && costOf(k) <= replayFactor * costOf(1);
  if (!replayFits && checks / t > budget) {
    throw new AuditPlanInfeasibleError(
      `no audit plan stays within ${budget} of the training FLOPs: ${checks} single-step checks of ${t} steps`,
      {
        details: { reason: "FLOP budget", checks, totalSteps: t, maxFlopsFraction: budget },
      },
    );
  }
  const stepsPerCheck = replayFits ? k : 1;
  return {
    seats: best.seats,
    samplesPerSeat: best.s,
    check: replayFits ? "replay" : "single-step",
    stepsPerCheck,
    detection: detectionProbability({ seats: best.seats, samplesPerSeat: best.s, fakedFraction: f, hostileFraction: h }),
    flopsFraction: (checks * stepsPerCheck) / t,
    fetchedBytes: checks * 2 * p.stateBytes,
    costFraction: (checks * costOf(stepsPerCheck)) / t,
  };
}

function validate(
  p: AuditPlanParameters,
  o: { f: number; h: number; target: number; budget: number; replayFactor: number; maxSeats: number; maxSamples: number },
): void {
  const bad = (field: string, value: number, rule: string): never => {
    throw new VerifierDaemonError(`audit plan: ${field} must be ${rule}`, { details: { field, value } });
  };
  for (const [field, v] of [
    ["totalSteps", p.totalSteps],
    ["stepsPerInterval", p.stepsPerInterval],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) bad(field, v, "an integer ≥ 1");
  }
  if (p.totalSteps % p.stepsPerInterval !== 0) bad("totalSteps", p.totalSteps, `a multiple of stepsPerInterval (${p.stepsPerInterval})`);
  for (const [field, v] of [
    ["flopsPerStep", p.flopsPerStep],
    ["stateBytes", p.stateBytes],
    ["flopsPerByte", p.flopsPerByte],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0) bad(field, v, "a finite number > 0");
  }
  if (!(o.f > 0 && o.f < 1)) bad("fakedFraction", o.f, "in (0, 1)");
  if (!(o.h >= 0 && o.h < 1)) bad("hostileFraction", o.h, "in [0, 1)");
  if (!(o.target > 0 && o.target < 1)) bad("target", o.target, "in (0, 1)");
  if (!(o.budget > 0 && o.budget <= 1)) bad("maxFlopsFraction", o.budget, "in (0, 1]");
  if (!(o.replayFactor >= 1 && Number.isFinite(o.replayFactor))) bad("replayCostFactor", o.replayFactor, "a finite number ≥ 1");
  for (const [field, v] of [
    ["maxSeats", o.maxSeats],
    ["maxSamplesPerSeat", o.maxSamples],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) bad(field, v, "an integer ≥ 1");
  }
}

export interface UnprofitableCollateralParameters {
  seats: number;
  samplesPerSeat: number;
  hostileFraction: number;
  /** Compute cost of the whole job as a multiple of its reward (1: a worker at break-even). @default 1 */
  computeCost?: number;
  /** Share of a slash the worker's own second account may take as challenger (v3 V4.3). */
  challengerShare: number;
  /** Faked fractions checked. @default 0.001, 0.002, …, 1 */
  fractions?: readonly number[];
}

/**
 * §10.9 with V4.3: the least collateral, as a multiple of the reward, such that faking any fraction f
 * does not pay in expectation, `f·C ≤ P(f)·(1 + c·(1 − challengerShare))` (reward = 1), i.e.
 * `c = max_f (f·C/P(f) − 1) / (1 − challengerShare)`, at least 0. P is the closed-form lower bound.
 */
export function unprofitableCollateral(p: UnprofitableCollateralParameters): number {
  const c = p.computeCost ?? 1;
  const fractions = p.fractions ?? Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000);
  if (!(p.challengerShare >= 0 && p.challengerShare < 1)) {
    throw new VerifierDaemonError("audit plan: challengerShare must be in [0, 1)", {
      details: { field: "challengerShare", value: p.challengerShare },
    });
  }
  let worst = 0;
  for (const f of fractions) {
    // f = 1 fakes everything: (1 − f)^s = 0 even for s = 0, so detectionProbability stays defined.
    const caught = detectionProbability({
      seats: p.seats,
      samplesPerSeat: p.samplesPerSeat,
      fakedFraction: f,
      hostileFraction: p.hostileFraction,
    });
    worst = Math.max(worst, caught > 0 ? (f * c) / caught - 1 : Number.POSITIVE_INFINITY);
  }
  return worst / (1 - p.challengerShare);
}
