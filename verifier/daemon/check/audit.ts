/**
 * The audit of a job's sample (PROTOCOL.md §7.1, v3 V7.2): for each sampled interval i, fetch
 * checkpoints i and i+1 (hashes checked against the index, which is checked against the chain),
 * replay k steps from S_i and compare the result with S_{i+1} under the δ_k bounds (§10.3); then
 * check `u` single steps of the interval (chosen from the audit seed, audit/steps.ts) with the
 * juror's single-step rule: claimed S_j → one step → compared with claimed S_{j+1} under δ_upd.
 * Why both: a cheat that nudges every step by a few single-step bounds (low-precision gradients)
 * stays inside δ_k over an interval but is convicted by any committee on one step.
 * An interval fails when either comparison convicts, when a committed state is not served, or when
 * the committed state does not fit the graph. Anything that is not provably the worker's doing
 * (the spec, the graph, our own runner) makes the whole audit `skipped`.
 */
import type { Logger } from "pino";
import { replay } from "../../engine/replay";
import { compareInterval, compareStates } from "../../engine/tolerance";
import type { TensorMap } from "../../engine/tensor";
import type { StepExecutor } from "../../engine/step";
import { StepInputError } from "../../engine/runner";
import { boundaryMismatches, type ResultIndex } from "../../protocol/resultIndex";
import type { IntervalVerdict } from "../../protocol/committedIndex";
import { UPowError } from "../../errors";
import { ArtifactProblemError, ArtifactsUnreachableError, StateRequestRefusedError } from "../errors";
import type { AuditOutcome } from "../solver/types";
import type { ArtifactClient, LoadedState } from "./artifacts";
import type { JobSpec } from "./spec";
import { type RunnerFactory, type RunnerSettingsChoice, withRunner } from "./runners";

export interface RunAuditParameters {
  spec: JobSpec;
  index: ResultIndex;
  /** Intervals the index itself fails (committedIndex.ts): failed without a replay, sampled or not. */
  indexFailures?: readonly IntervalVerdict[];
  sample: number[];
  client: ArtifactClient;
  runners: RunnerFactory;
  settings: RunnerSettingsChoice;
  signal: AbortSignal;
  logger: Logger;
  /** Seconds per replayed interval (metrics). */
  onReplay?: (seconds: number) => void;
  /**
   * What a checkpoint no mirror delivered (ArtifactProblemError.transient) does: `fail` its
   * interval (the grace period is over), or `defer` the audit (ArtifactsUnreachableError) unless
   * another interval already fails on firm ground. @default "fail"
   */
  unreachable?: "fail" | "defer";
  /**
   * Local steps j of interval i whose single step is checked (V7.2; audit/steps.ts derives them
   * from the audit seed). @default none: the k-step replay only
   */
  singleSteps?: (interval: number) => readonly number[];
  /**
   * How a step state S_{ik+j} not on the public mirrors is obtained (a signed request to the
   * worker, V7.1). @default the mirrors only (client.fetchState on index.artifactBaseUrls)
   */
  fetchStepState?: (interval: number, j: number) => Promise<LoadedState>;
}

/**
 * After how many failed audit attempts over how long a sampled checkpoint that no mirror delivers
 * counts as "the worker does not serve it" rather than a one-off error on our side (pure).
 */
export interface UnservedPolicy {
  graceMs: number;
  minAttempts: number;
}
export interface UnreachableRecord {
  firstAtMs: number;
  attempts: number;
}
export function unreachableVerdict(rec: UnreachableRecord | undefined, nowMs: number, policy: UnservedPolicy): "fail" | "defer" {
  if (rec === undefined) return "defer";
  return rec.attempts >= policy.minAttempts && nowMs - rec.firstAtMs >= policy.graceMs ? "fail" : "defer";
}

export async function runAudit(p: RunAuditParameters): Promise<AuditOutcome> {
  const failed: number[] = [];
  const reasons: string[] = [];
  const unreachable: number[] = [];
  const unreachableReasons: string[] = [];
  const defer = p.unreachable === "defer";
  const { spec, index } = p;
  // Provable on chain without any replay (proveBoundaryMismatch): every such interval fails, sampled or not.
  const split = new Set<number>();
  for (const m of boundaryMismatches(index)) {
    if (!split.has(m.interval)) {
      split.add(m.interval);
      failed.push(m.interval);
    }
    reasons.push(
      `interval ${m.interval}: step ${m.atEnd ? "k" : "0"} state ${m.stepStateHash} is not checkpoint ${m.interval + (m.atEnd ? 1 : 0)} (${m.checkpointStateHash})`,
    );
  }
  // Judged from the committed bytes alone (v3 V1.4); the leaves are then demanded on chain.
  for (const v of p.indexFailures ?? []) {
    if (!split.has(v.interval)) {
      split.add(v.interval);
      failed.push(v.interval);
    }
    reasons.push(v.message);
  }
  if (split.size > 0)
    p.logger.warn(
      { intervals: [...split] },
      "audit: intervals fail on the committed index alone (boundary mismatch or unusable step leaves)",
    );
  try {
    await withRunner(p.runners, spec, p.settings, async (runner) => {
      for (const i of p.sample) {
        p.signal.throwIfAborted();
        if (split.has(i)) continue;
        const log = p.logger.child({ interval: i });
        const bases = index.artifactBaseUrls;
        let start, end;
        try {
          const c0 = index.checkpoints[i]!;
          const c1 = index.checkpoints[i + 1]!;
          start = await p.client.fetchState(c0.stateHash, c0.sha256, bases, `checkpoint ${i}`, spec.maxStateBytes);
          end = await p.client.fetchState(c1.stateHash, c1.sha256, bases, `checkpoint ${i + 1}`, spec.maxStateBytes);
        } catch (err) {
          if (!(err instanceof ArtifactProblemError)) throw err;
          if (defer && err.transient) {
            log.warn({ err: err.shortMessage }, "audit: checkpoint could not be fetched; will retry before blaming the worker");
            unreachable.push(i);
            unreachableReasons.push(`interval ${i}: ${err.shortMessage}`);
            continue;
          }
          log.warn(
            { err: err.shortMessage, unavailable: err.unavailable, transient: err.transient },
            "audit: checkpoint not served as committed; interval fails",
          );
          failed.push(i);
          reasons.push(`interval ${i}: ${err.shortMessage}`);
          continue;
        }
        const t0 = Date.now();
        let replayed;
        try {
          replayed = await replay({
            runner,
            state: start.state,
            startStep: i * spec.k,
            k: spec.k,
            batches: (t) => spec.batch(t),
            hp: spec.hp,
            signal: p.signal,
          });
        } catch (err) {
          if (!(err instanceof StepInputError)) throw err;
          log.warn({ err: err.shortMessage }, "audit: committed state does not fit the step graph; interval fails");
          failed.push(i);
          reasons.push(`interval ${i}: ${err.shortMessage}`);
          continue;
        }
        p.onReplay?.((Date.now() - t0) / 1000);
        const report = compareInterval(start.state, replayed.finalState, end.state, spec.tolerance);
        log.info({ convict: report.convict, worstRatio: report.worstRatio, worstTensor: report.worstTensor }, "audit: interval replayed");
        if (report.convict) {
          failed.push(i);
          reasons.push(`interval ${i}: ${report.worstTensor} ratio ${report.worstRatio}`);
          continue;
        }
        const single = await checkSingleSteps(p, runner, i, { 0: start, [spec.k]: end });
        if (single.kind === "failed") {
          failed.push(i);
          reasons.push(`interval ${i}: ${single.reason}`);
        } else if (single.kind === "unreachable") {
          unreachable.push(i);
          unreachableReasons.push(`interval ${i}: ${single.reason}`);
        }
      }
    });
  } catch (err) {
    if (p.signal.aborted) throw err;
    if (err instanceof UPowError) {
      // Spec, graph or batch problems, or our runner: nobody can be convicted on that.
      p.logger.error({ err: err.shortMessage, name: err.name, details: err.details }, "audit skipped: job cannot be checked");
      return { kind: "skipped", sample: p.sample, reason: `${err.name}: ${err.shortMessage}` };
    }
    throw err;
  }
  if (failed.length > 0) return { kind: "failed", sample: p.sample, failedIntervals: failed, reason: reasons.join("; ") };
  // Never "passed" (an attestation!) while part of the sample is unchecked.
  if (unreachable.length > 0) throw new ArtifactsUnreachableError(unreachable, unreachableReasons);
  return { kind: "passed", sample: p.sample };
}

type SingleStepsOutcome = { kind: "passed" } | { kind: "failed"; reason: string } | { kind: "unreachable"; reason: string };

/**
 * The single-step rule on the chosen steps of interval i (V7.2): each claimed S_j is stepped once
 * and compared with the claimed S_{j+1} under the manifest's single-step bounds, as a juror would.
 * States are fetched like checkpoints: wrong bytes fail the interval at once, a state no one
 * delivers defers (or, after the grace period, fails) it, and a signed request the worker refuses
 * because we are no party of the job (StateRequestRefusedError) skips that step's check: it is no
 * evidence against the worker.
 */
async function checkSingleSteps(
  p: RunAuditParameters,
  runner: StepExecutor,
  i: number,
  known: Record<number, LoadedState>,
): Promise<SingleStepsOutcome> {
  const steps = p.singleSteps?.(i) ?? [];
  if (steps.length === 0) return { kind: "passed" };
  const { spec, index } = p;
  const log = p.logger.child({ interval: i });
  const cache = new Map<number, TensorMap>(Object.entries(known).map(([j, s]) => [Number(j), s.state]));
  const fetchOne =
    p.fetchStepState ??
    (async (iv: number, j: number) => {
      const s = index.intervals[iv]!.steps[j]!;
      return p.client.fetchState(s.stateHash, s.sha256, index.artifactBaseUrls, `state ${iv}.${j}`, spec.maxStateBytes);
    });
  const load = async (j: number): Promise<TensorMap> => {
    const hit = cache.get(j);
    if (hit) return hit;
    const st = (await fetchOne(i, j)).state;
    cache.set(j, st);
    return st;
  };
  for (const j of steps) {
    p.signal.throwIfAborted();
    let before: TensorMap, claimed: TensorMap;
    try {
      before = await load(j);
      claimed = await load(j + 1);
    } catch (err) {
      if (err instanceof StateRequestRefusedError) {
        log.warn(
          { j, status: err.status, err: err.shortMessage },
          "audit: step state refused to us (not a party of the job); single step not checked",
        );
        continue;
      }
      if (!(err instanceof ArtifactProblemError)) throw err;
      if (p.unreachable === "defer" && err.transient) {
        log.warn({ j, err: err.shortMessage }, "audit: step state could not be fetched; will retry before blaming the worker");
        return { kind: "unreachable", reason: err.shortMessage };
      }
      log.warn({ j, err: err.shortMessage }, "audit: step state not served as committed; interval fails");
      return { kind: "failed", reason: err.shortMessage };
    }
    let next: TensorMap;
    try {
      next = (await runner.step(before, await spec.batch(i * spec.k + j), spec.hp)).next;
    } catch (err) {
      if (!(err instanceof StepInputError)) throw err;
      log.warn({ j, err: err.shortMessage }, "audit: committed step state does not fit the step graph; interval fails");
      return { kind: "failed", reason: `step ${j}: ${err.shortMessage}` };
    }
    const report = compareStates(before, next, claimed, spec.tolerance);
    log.info({ j, convict: report.convict, worstRatio: report.worstRatio, worstTensor: report.worstTensor }, "audit: single step checked");
    if (report.convict)
      return { kind: "failed", reason: `single step ${i * spec.k + j}: ${report.worstTensor} ratio ${report.worstRatio}` };
  }
  return { kind: "passed" };
}
