/**
 * Pure decision for one job (audit, assigned-auditor duty, challenge): facts in, actions out. The
 * player runs it every block; repeating an action is harmless because the responder's intents are
 * keyed and the scheduler dedups work.
 */
import { AuditorState, JobStatus, type JobAction, type JobFacts, type JobPolicy } from "./types";

export function solveJob(f: JobFacts, policy: JobPolicy): JobAction[] {
  const actions: JobAction[] = [];
  if (f.status !== JobStatus.Submitted) {
    // A settled job: only collect what is owed.
    if (f.auditorState === AuditorState.Attested && f.auditSettled && f.now > f.releasableAfter) actions.push({ type: "releaseAttester" });
    return actions;
  }
  const windowOpen = f.now + policy.deadlineMarginSec < f.windowEnd;
  const windowOver = f.now >= f.windowEnd;

  if (windowOver) {
    // JobMarket.finalize: window over and no dispute open. It pays attesters, so an attester wants it.
    if (f.openDisputes === 0 && (policy.callTimeouts || f.auditorState === AuditorState.Attested)) {
      actions.push({ type: "finalize" });
    }
    return actions;
  }
  if (!windowOpen) return actions;

  if (!f.auditorsDrawn && f.seedReady && policy.callTimeouts) actions.push({ type: "drawAuditors" });

  const assigned = f.auditorState === AuditorState.Assigned;
  if (f.audit === undefined) {
    // The audit seed is fixed when auditors are drawn (v3 V3.2); volunteers sample from it too.
    if ((policy.audit || assigned) && f.auditorsDrawn && !f.auditRunning) actions.push({ type: "audit" });
    return actions;
  }

  if (f.audit.kind === "passed" && assigned) actions.push({ type: "attest", sample: f.audit.sample });

  if (f.audit.kind === "failed" && policy.challenge) {
    const next = nextChallenge(f);
    if (next) actions.push(next);
  }
  return actions;
}

/**
 * One dispute at a time per job (a bond each): the lowest failed interval that has no dispute of
 * ours yet. Commit first, open once the commitment is at least one block old (§10.5).
 */
function nextChallenge(f: JobFacts): JobAction | undefined {
  if (f.audit?.kind !== "failed") return undefined;
  for (const interval of [...f.audit.failedIntervals].sort((a, b) => a - b)) {
    const rec = f.challenges.find((c) => c.interval === interval);
    if (rec?.disputeId != null) {
      // Ours is open (or ended); wait for it rather than opening more.
      if ((f.activeDisputes.get(interval) ?? 0n) === rec.disputeId) return undefined;
      continue;
    }
    const active = f.activeDisputes.get(interval) ?? 0n;
    if (active !== 0n && rec === undefined) {
      // Someone else disputes this interval; an earlier commitment of ours could still supersede it,
      // but we have none. Leave it to them.
      continue;
    }
    if (rec === undefined || rec.commitBlock === null) return { type: "commitChallenge", interval };
    if (f.block > rec.commitBlock) return { type: "openDispute", interval, salt: rec.salt };
    return undefined;
  }
  return undefined;
}
