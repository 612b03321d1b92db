/**
 * The k-step audit of a job's sample (PROTOCOL.md §7.1): for each sampled interval i, fetch
 * checkpoints i and i+1 (hashes checked against the index, which is checked against the chain),
 * replay k steps from S_i and compare the result with S_{i+1} under the δ_k bounds (§10.3).
 * An interval fails when the comparison convicts, when a committed state is not served, or when
 * the committed state does not fit the graph. Anything that is not provably the worker's doing
 * (the spec, the graph, our own runner) makes the whole audit `skipped`.
 */
import type { Logger } from "pino";
import { replay } from "../../engine/replay";
import { compareInterval } from "../../engine/tolerance";
import { StepInputError } from "../../engine/runner";
import { boundaryMismatches, type ResultIndex } from "../../protocol/resultIndex";
import { UPowError } from "../../errors";
import { ArtifactProblemError, ArtifactsUnreachableError } from "../errors";
import type { AuditOutcome } from "../solver/types";
import type { ArtifactClient } from "./artifacts";
import type { JobSpec } from "./spec";
import { type RunnerFactory, type RunnerSettingsChoice, withRunner } from "./runners";

export interface RunAuditParameters {
  spec: JobSpec;
  index: ResultIndex;
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
    reasons.push(`interval ${m.interval}: step ${m.atEnd ? "k" : "0"} state ${m.stepStateHash} is not checkpoint ${m.interval + (m.atEnd ? 1 : 0)} (${m.checkpointStateHash})`);
  }
  if (split.size > 0) p.logger.warn({ intervals: [...split] }, "audit: committed step states disagree with checkpoints at interval boundaries");
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
          log.warn({ err: err.shortMessage, unavailable: err.unavailable, transient: err.transient }, "audit: checkpoint not served as committed; interval fails");
          failed.push(i);
          reasons.push(`interval ${i}: ${err.shortMessage}`);
          continue;
        }
        const t0 = Date.now();
        let replayed;
        try {
          replayed = await replay({ runner, state: start.state, startStep: i * spec.k, k: spec.k, batches: (t) => spec.batch(t), hp: spec.hp, signal: p.signal });
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
