/**
 * Pure decision for one dispute, from the point of view of this node (challenger, juror, or a
 * bystander that moves timeouts on): facts in, actions out.
 */
import { mayPinpoint } from "../keeper/decide";
import { ChunkStatus, JobStatus, Phase, Ruling, type DisputeAction, type DisputeFacts, type DisputePolicy } from "./types";

export function solveDispute(f: DisputeFacts, policy: DisputePolicy): DisputeAction[] {
  const actions: DisputeAction[] = [];
  const involved = f.isChallenger || f.juror.drawn;
  const moveOn = involved || policy.callTimeouts;

  // Chunk challenges of ours that were not answered in time convict the worker (§10.6).
  for (const c of f.chunks) {
    if (c.status === ChunkStatus.Open && f.now > c.deadline) actions.push({ type: "timeoutChunk", challengeId: c.challengeId });
  }

  if (f.phase === Phase.None || f.phase === Phase.Closed) return actions;
  if (f.jobStatus !== JobStatus.Submitted) {
    // Another dispute convicted the worker (or the job settled): refunds wait behind closeMoot.
    if (moveOn) actions.push({ type: "closeMoot" });
    return actions;
  }

  // A boundary mismatch convicts without pinpointing or a vote; the challenger is paid, so it proves it.
  if (
    f.isChallenger &&
    f.boundary !== undefined &&
    (f.phase === Phase.Pinpointing || f.phase === Phase.AwaitingDraw || f.phase === Phase.Voting)
  ) {
    actions.push({ type: "proveBoundary", atEnd: f.boundary.atEnd });
    return actions;
  }

  switch (f.phase) {
    case Phase.Pinpointing: {
      if (f.isChallenger) {
        const leaves = f.chainLeaves;
        if (f.locate === undefined && leaves !== undefined && (!leaves.checkpointKnown || leaves.missing !== null)) {
          // The index gives no verifiable leaves: the worker must post them (v3 V1.2); an open
          // checkpoint demand comes first, an unanswered demand convicts through timeoutChunk.
          const open = f.chunks.some((c) => c.status === ChunkStatus.Open || c.status === ChunkStatus.TimedOut);
          if (leaves.checkpointKnown && leaves.missing !== null && !open) actions.push({ type: "demandStepLeaves", ...leaves.missing });
        } else if (f.locate === undefined) {
          if (!f.locating) actions.push({ type: "locate" });
        } else if (f.locate.kind === "found") {
          const may = mayPinpoint(f.pinpoints ?? 0, f.locatedJudged ?? false, policy.repinpoint ?? true);
          if (may && f.now + policy.deadlineMarginSec <= f.deadline) actions.push({ type: "pinpoint", localStep: f.locate.localStep });
        } else if (f.locate.kind === "unavailable") {
          const open = f.chunks.some((c) => c.status === ChunkStatus.Open || c.status === ChunkStatus.TimedOut);
          if (!open) actions.push({ type: "challengeChunk", leafIndex: f.locate.leafIndex, chunkIndex: f.locate.chunkIndex });
        }
      } else if (f.now > f.deadline && policy.callTimeouts) {
        actions.push({ type: "timeoutPinpoint" });
      }
      break;
    }
    case Phase.AwaitingDraw:
      if (f.randomnessReady && moveOn) actions.push({ type: "drawCommittee" });
      break;
    case Phase.Voting: {
      const j = f.juror;
      if (j.drawn && !j.committed && f.now + policy.deadlineMarginSec <= f.commitEnd) {
        if (f.vote) actions.push({ type: "commitVote", round: f.round, vote: f.vote });
        else if (!f.judging) actions.push({ type: "judge" });
      }
      const revealOpen = (f.now > f.commitEnd || f.roundCommits >= f.roundJurors) && f.now + policy.deadlineMarginSec <= f.revealEnd;
      if (j.committed && !j.revealed && revealOpen && f.vote) {
        actions.push({ type: "revealVote", round: f.round, vote: f.vote });
      }
      const votingOver = f.now > f.revealEnd || (f.roundJurors > 0 && f.roundReveals >= f.roundJurors);
      if (votingOver && moveOn) actions.push({ type: "resolve", round: f.round });
      break;
    }
    case Phase.Ruled: {
      if (f.now > f.appealEnd) {
        if (moveOn) actions.push({ type: "finalizeRuling" });
        break;
      }
      const appeal = appealDecision(f, policy);
      if (appeal) actions.push(appeal);
      break;
    }
    default:
      break;
  }
  return actions;
}

/**
 * A ruling that contradicts what this node holds true (§10.7): only the challenger (or the worker)
 * may appeal on chain, and only while the window is open and appeals remain. An Indeterminate
 * ruling refunds the challenger's bond, so it is not worth an appeal bond: only a clear
 * contradiction (fault vs WorkerHonest, honest vs WorkerFault) counts.
 */
function appealDecision(f: DisputeFacts, policy: DisputePolicy): DisputeAction | undefined {
  if (f.phase !== Phase.Ruled || f.belief === undefined) return undefined;
  const against = (f.belief === "fault" && f.ruling === Ruling.WorkerHonest) || (f.belief === "honest" && f.ruling === Ruling.WorkerFault);
  if (!against || f.now + policy.deadlineMarginSec > f.appealEnd) return undefined;
  if (!f.isChallenger) return { type: "rulingDisputed", why: "not-a-party" };
  if (f.appeals >= f.maxAppeals) return { type: "rulingDisputed", why: "max-appeals" };
  if (!policy.appeal) return { type: "rulingDisputed", why: "policy" };
  return { type: "appeal", round: f.round };
}
