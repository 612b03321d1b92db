/**
 * The juror's check of one pinpointed step (§7.4, §10.3, §10.4): fetch S_j and S_{j+1} (hashes
 * checked), the batch of step j, run the step on the reference setting and on the operator's other
 * setting (v3 V9.1, `jurorSettings`) and vote with `jurorVerdict`. States that cannot be obtained are not voted on (§10.6: availability is proven on
 * chain): the juror votes Indeterminate, which slashes no one.
 */
import type { Logger } from "pino";
import { jurorVerdict, Vote } from "../../engine/tolerance";
import type { ResultIndex } from "../../protocol/resultIndex";
import { StepInputError } from "../../engine/runner";
import { UPowError } from "../../errors";
import { ArtifactProblemError } from "../errors";
import type { ArtifactClient } from "./artifacts";
import type { JobSpec } from "./spec";
import { jurorSettings, type RunnerFactory, type RunnerSettingsChoice, withRunner } from "./runners";

export interface JudgeStepParameters {
  spec: JobSpec | null;
  index: ResultIndex | null;
  interval: number;
  globalStep: number;
  client: ArtifactClient;
  runners: RunnerFactory;
  /** The operator's two settings; the juror runs the reference one first whatever they are. */
  settings: readonly [RunnerSettingsChoice, RunnerSettingsChoice];
  signal: AbortSignal;
  logger: Logger;
}

export interface JudgeStepReturnType {
  vote: 1 | 2 | 3;
  reason: string;
}

export async function judgeStep(p: JudgeStepParameters): Promise<JudgeStepReturnType> {
  const { spec, index } = p;
  if (!spec || !index) return { vote: Vote.Indeterminate, reason: "spec or result index unavailable" };
  const j = p.globalStep - p.interval * spec.k;
  const steps = index.intervals[p.interval]?.steps;
  if (!steps || j < 0 || j >= spec.k) return { vote: Vote.Indeterminate, reason: "pinpointed step outside the result index" };
  let before, after;
  try {
    before = await p.client.fetchState(
      steps[j]!.stateHash,
      steps[j]!.sha256,
      index.artifactBaseUrls,
      `state S_${p.globalStep}`,
      spec.maxStateBytes,
    );
    after = await p.client.fetchState(
      steps[j + 1]!.stateHash,
      steps[j + 1]!.sha256,
      index.artifactBaseUrls,
      `state S_${p.globalStep + 1}`,
      spec.maxStateBytes,
    );
  } catch (err) {
    if (!(err instanceof ArtifactProblemError)) throw err;
    // A committed after-state that does not parse is the worker's own garbage: fault.
    if (!err.unavailable && before) return { vote: Vote.WorkerFault, reason: err.shortMessage };
    return { vote: Vote.Indeterminate, reason: err.shortMessage };
  }
  try {
    const batch = await spec.batch(p.globalStep);
    const run = (s: RunnerSettingsChoice) => withRunner(p.runners, spec, s, (r) => r.step(before.state, batch, spec.hp));
    const [reference, other] = jurorSettings(p.settings);
    const a1 = await run(reference);
    p.signal.throwIfAborted();
    const a2 = await run(other);
    const v = jurorVerdict(before.state, a1.next, a2.next, after.state, spec.tolerance);
    p.logger.info(
      {
        globalStep: p.globalStep,
        vote: v.vote,
        selfWorst: v.selfCheck.worstRatio,
        run1Worst: v.run1.worstRatio,
        run2Worst: v.run2.worstRatio,
        worstTensor: v.run1.worstTensor,
      },
      "juror: step judged",
    );
    return { vote: v.vote, reason: `self ${v.selfCheck.worstRatio}, run1 ${v.run1.worstRatio}, run2 ${v.run2.worstRatio}` };
  } catch (err) {
    if (p.signal.aborted) throw err;
    if (err instanceof StepInputError)
      return { vote: Vote.WorkerFault, reason: `committed state does not fit the graph: ${err.shortMessage}` };
    if (err instanceof UPowError) return { vote: Vote.Indeterminate, reason: `${err.name}: ${err.shortMessage}` };
    throw err;
  }
}
