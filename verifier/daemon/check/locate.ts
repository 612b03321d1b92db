/**
 * The challenger's search for the first bad step of a disputed interval (§7.3): fetch the k+1
 * committed states in order and apply the single-step rule (§10.3) to each step. A state that is
 * not served stops the search with `unavailable`, to be pursued by a chunk challenge (§10.6).
 */
import type { Logger } from "pino";
import { compareStates } from "../../engine/tolerance";
import type { TensorMap } from "../../engine/tensor";
import type { ResultIndex } from "../../protocol/resultIndex";
import { ArtifactProblemError } from "../errors";
import type { LocateOutcome } from "../solver/types";
import type { ArtifactClient } from "./artifacts";
import type { JobSpec } from "./spec";
import { type RunnerFactory, type RunnerSettingsChoice, withRunner } from "./runners";

export interface LocateFaultyStepParameters {
  spec: JobSpec;
  index: ResultIndex;
  interval: number;
  client: ArtifactClient;
  runners: RunnerFactory;
  settings: RunnerSettingsChoice;
  signal: AbortSignal;
  logger: Logger;
}

export async function locateFaultyStep(p: LocateFaultyStepParameters): Promise<LocateOutcome> {
  const { spec, index, interval } = p;
  const steps = index.intervals[interval]?.steps;
  if (!steps || steps.length !== spec.k + 1) return { kind: "none", reason: "interval not in the result index" };
  const fetch = async (j: number): Promise<TensorMap | LocateOutcome> => {
    try {
      const s = steps[j]!;
      return (await p.client.fetchState(s.stateHash, s.sha256, index.artifactBaseUrls, `state ${interval}.${j}`, spec.maxStateBytes)).state;
    } catch (err) {
      if (!(err instanceof ArtifactProblemError)) throw err;
      p.logger.warn({ interval, leaf: j, err: err.shortMessage }, "locate: state not served as committed");
      // A state that hashes right but does not parse cannot be stepped; its chunks are served, so a
      // chunk challenge would be answered. Such a state fails the step that produced it instead.
      if (!err.unavailable) return { kind: "found", localStep: Math.max(0, j - 1) };
      return { kind: "unavailable", leafIndex: j, chunkIndex: 0 };
    }
  };
  const isOutcome = (v: TensorMap | LocateOutcome): v is LocateOutcome => !(v instanceof Map);
  return withRunner(p.runners, spec, p.settings, async (runner) => {
    let before = await fetch(0);
    if (isOutcome(before)) return before;
    for (let j = 0; j < spec.k; j++) {
      p.signal.throwIfAborted();
      const after = await fetch(j + 1);
      if (isOutcome(after)) return after;
      const a = await runner.step(before, await spec.batch(interval * spec.k + j), spec.hp);
      const report = compareStates(before, a.next, after, spec.tolerance);
      p.logger.debug({ interval, j, convict: report.convict, worstRatio: report.worstRatio }, "locate: step checked");
      if (report.convict) {
        p.logger.info(
          { interval, localStep: j, worstTensor: report.worstTensor, worstRatio: report.worstRatio },
          "locate: first faulty step found",
        );
        return { kind: "found", localStep: j };
      }
      before = after;
    }
    return { kind: "none", reason: "every step of the interval passed the single-step rule" };
  });
}
